/**
 * `reflow init-script`: every script started in a folder is one `tsc --noEmit` checks
 * against reflow's types, the second as much as the first (against this build's dist/).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot, reflow } from "../helpers.js";

const tsc = join(projectRoot, "node_modules", "typescript", "bin", "tsc");
const typeCheck = (dir: string) => spawnSync(process.execPath, [tsc, "--noEmit", "-p", dir], { encoding: "utf8" });

describe("reflow init-script, twice in one folder", () => {
  it("leaves both scripts checked by tsc --noEmit", () => {
    const dir = mkdtempSync(join(tmpdir(), "reflow-init-script-"));
    for (const name of ["first.ts", "second.ts"]) {
      const r = reflow(["init-script", name], { cwd: dir });
      expect(r.status, r.stderr.toString()).toBe(0);
    }
    const sound = typeCheck(dir);
    expect(sound.status, sound.stdout).toBe(0);
    // a mistake in the second script, whose tsconfig.json the first one wrote
    const second = join(dir, "second.ts");
    writeFileSync(second, readFileSync(second, "utf8").replace("flow.request.headers.set", "flow.request.headrs.set"));
    const wrong = typeCheck(dir);
    expect(wrong.status, "tsc finds the mistake in second.ts").not.toBe(0);
    expect(wrong.stdout).toContain("second.ts");
  });
});
