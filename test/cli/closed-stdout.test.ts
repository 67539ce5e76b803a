/** A reader that stops early (`| head`) ends a command quietly: nothing on stderr, and 141 (output was lost, as under SIGPIPE). */
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { cliPath, fixtures, projectRoot } from "../helpers.js";

function throughHead(args: string): { status: string; stderr: string } {
  // `head -c 1` closes the pipe after one byte; PIPESTATUS gives reflow's own exit code
  const r = spawnSync("bash", ["-c", `node '${cliPath}' ${args} | head -c 1 > /dev/null; echo "\${PIPESTATUS[0]}"`], {
    cwd: projectRoot,
    encoding: "utf8",
  });
  return { status: r.stdout.trim(), stderr: r.stderr };
}

describe("a closed stdout", () => {
  const big = Array.from({ length: 40 }, () => `'${fixtures}/sample.mitm'`).join(" ");
  for (const args of [`show ${big} --detail 4`, `convert ${big} -o - -q`, `run -r ${big} -w - -q`]) {
    it(`ends \`reflow ${args.split(" ")[0]}\` quietly with 141`, () => {
      const r = throughHead(args);
      expect(r.stderr).toBe("");
      expect(r.status).toBe("141");
    });
  }

  it("ends `reflow run --help` quietly: 0 when the help fit in the pipe, else 141", () => {
    const r = throughHead("run --help");
    expect(r.stderr).toBe("");
    expect(["0", "141"]).toContain(r.status);
  });
});
