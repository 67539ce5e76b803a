/**
 * The layering of src/ (README, "Layout"): dependency-cruiser with the rules made from the one
 * layer table in .dependency-cruiser.cjs. A folder importing one above it fails here, named.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "./helpers.js";

const configPath = join(projectRoot, ".dependency-cruiser.cjs");
const depcruise = join(projectRoot, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");

/** Runs dependency-cruiser over `src` in `cwd` with the project's rules. */
function cruise(cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [depcruise, "src", "--config", configPath, "--output-type", "err-long"], {
      cwd,
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** A throwaway project holding `files` (path → source) and the project's tsconfig. */
function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "reflow-layering-"));
  writeFileSync(
    join(dir, "tsconfig.json"),
    JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext" } }),
  );
  for (const [path, source] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), source);
  }
  return dir;
}

describe("the layering of src/", () => {
  it("holds: no folder imports one above it, proxy imports none", async () => {
    const { code, output } = await cruise(projectRoot);
    expect(code, output).toBe(0);
  });

  it("has a rule for every folder of src/ (a new folder goes into the layer table)", () => {
    const config = createRequire(import.meta.url)(configPath) as { forbidden: { name: string }[] };
    const ruled = new Set(config.forbidden.map((r) => r.name));
    const src = join(projectRoot, "src");
    for (const folder of readdirSync(src).filter((n) => statSync(join(src, n)).isDirectory()))
      expect(ruled.has(`layer-${folder}`), `src/${folder}/ is not in .dependency-cruiser.cjs's layer table`).toBe(true);
  });

  it("fails on an upward import, naming the importing file, the imported file and the rule", async () => {
    // one throwaway tree, one run: an upward import, a type-only import between siblings,
    // proxy importing another folder, and what is allowed (proxy and format importing errors.ts)
    const dir = project({
      "src/format/upward.ts": 'import { wire } from "../cli/wiring.js";\nexport const x = wire;\n',
      "src/cli/wiring.ts": "export const wire = 1;\n",
      "src/display/listing.ts": 'import type { Job } from "../pipeline/job.js";\nexport type Listed = Job;\n',
      "src/pipeline/job.ts": "export interface Job { id: string }\n",
      "src/proxy/relay.ts": 'import { Flow } from "../model/flow.js";\nexport const f = Flow;\n',
      "src/model/flow.ts": 'import { E } from "../errors.js";\nexport class Flow { e = E; }\n',
      "src/proxy/failure.ts": 'import { E } from "../errors.js";\nexport const e = E;\n',
      "src/errors.ts": "export const E = 1;\n",
    });
    const { code, output } = await cruise(dir);
    expect(code, output).not.toBe(0);
    const violations = output
      .split("\n")
      .filter((l) => /^\s*error /.test(l))
      .map((l) => l.trim())
      .sort();
    expect(violations, output).toEqual([
      "error layer-display: src/display/listing.ts → src/pipeline/job.ts",
      "error layer-format: src/format/upward.ts → src/cli/wiring.ts",
      "error layer-proxy: src/proxy/relay.ts → src/model/flow.ts",
    ]);
  });
});
