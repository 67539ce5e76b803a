/**
 * `convert IN -o OUT` with nothing to change is made as a kernel copy of IN (see
 * src/io/input-copy.ts; test/pipeline/flow-file-run.test.ts proves the copy is taken): what
 * it writes, tells and exits with is the normal path's, and OUT gets the modes and links a
 * replaced output keeps. The normal path is forced here by a filter that matches every flow.
 * outputs.test.ts's convert of a private input (a new output 0600) and its output through a
 * symlink are such copies too.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliPath, fixtures, rawFlows, reflow, testdata } from "../helpers.js";

const sample = join(fixtures, "sample.mitm");
const real = join(testdata, "captures", "real-v17.mitm");
const v21 = join(testdata, "captures", "tflow-v21.mitm");

const scratch = (): string => mkdtempSync(join(tmpdir(), "reflow-copy-cli-"));
const temps = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith(".tmp"));
/** stderr without the summary's timing, which differs from run to run */
const told = (r: { stderr: Buffer }): string => r.stderr.toString().replace(/ in [0-9.]+ s$/m, "");

/** `convert IN -o OUT` (the copy) and the same through a filter matching every flow (the normal path). */
function bothWays(
  input: string,
  dir: string,
  more: string[] = [],
): { copy: ReturnType<typeof reflow>; normal: ReturnType<typeof reflow>; copied: Buffer; written: Buffer } {
  const copy = reflow(["convert", input, "-o", join(dir, "copy.mitm"), ...more]);
  const normal = reflow(["convert", input, "-o", join(dir, "normal.mitm"), "-f", "~all", ...more]);
  return {
    copy,
    normal,
    copied: readFileSync(join(dir, "copy.mitm")),
    written: readFileSync(join(dir, "normal.mitm")),
  };
}

describe("convert with nothing to change", () => {
  it("writes the input byte for byte, with the normal path's summary", () => {
    const d = scratch();
    const { copy, normal, copied, written } = bothWays(real, d);
    expect(copy.status, copy.stderr.toString()).toBe(0);
    expect(copied.equals(readFileSync(real))).toBe(true);
    expect(copied.equals(written)).toBe(true);
    expect(told(copy).replace("copy.mitm", "OUT")).toBe(
      told(normal).replace("normal.mitm", "OUT").replace(", 0 not matching the filter", ""),
    );
    expect(temps(d)).toEqual([]);
  });

  it("keeps the flows before a cut, with the normal path's error line and exit 3", () => {
    const d = scratch();
    const bytes = readFileSync(real);
    const last = rawFlows(bytes).at(-1)!;
    writeFileSync(join(d, "cut.mitm"), bytes.subarray(0, bytes.length - 10));
    const { copy, normal, copied, written } = bothWays(join(d, "cut.mitm"), d);
    expect(copy.status).toBe(3);
    expect(normal.status).toBe(3);
    expect(copied.equals(written), "the output").toBe(true);
    expect(copied.equals(bytes.subarray(0, bytes.length - last.length))).toBe(true);
    const errorLine = (r: { stderr: Buffer }) => r.stderr.toString().split("\n")[0];
    expect(errorLine(copy)).toBe(errorLine(normal));
    expect(temps(d)).toEqual([]);
  });

  it("keeps the flows before a garbage tail, exit 3", () => {
    const d = scratch();
    writeFileSync(join(d, "tail.mitm"), Buffer.concat([readFileSync(real), Buffer.from("\0garbage")]));
    const { copy, normal, copied, written } = bothWays(join(d, "tail.mitm"), d);
    expect(copy.status).toBe(3);
    expect(told(copy).split("\n")[0]).toBe(told(normal).split("\n")[0]);
    expect(copied.equals(written)).toBe(true);
    expect(copied.equals(readFileSync(real))).toBe(true);
  });

  it("writes a file of mixed versions as the normal path does (the copy thrown away)", () => {
    const d = scratch();
    writeFileSync(join(d, "mixed.mitm"), Buffer.concat([readFileSync(real), readFileSync(v21)]));
    // tflow-v21 holds a UDP flow, which v17 cannot hold: left out with a warning
    const { copy, normal, copied, written } = bothWays(join(d, "mixed.mitm"), d, ["--skip-unwritable"]);
    expect(copy.status, copy.stderr.toString()).toBe(0);
    expect(told(copy).replace("copy.mitm", "OUT")).toBe(
      told(normal).replace("normal.mitm", "OUT").replace(", 0 not matching the filter", ""),
    );
    expect(copied.equals(written)).toBe(true);
    expect(copied.equals(readFileSync(join(d, "mixed.mitm"))), "the v21 flows were written at v17").toBe(false);
    expect(temps(d)).toEqual([]);
  });

  it("creates a new output from a public input with the umask's mode, not the input's", () => {
    const d = scratch();
    const f = join(d, "open.mitm");
    copyFileSync(sample, f);
    chmodSync(f, 0o664);
    const r = spawnSync("bash", ["-c", `umask 027; node '${cliPath}' convert '${f}' -o '${join(d, "out.mitm")}' -q`]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(statSync(join(d, "out.mitm")).mode & 0o777).toBe(0o640);
  });

  it("keeps the mode of an output it replaces, and of an input rewritten in place", () => {
    const d = scratch();
    writeFileSync(join(d, "out.mitm"), "old");
    chmodSync(join(d, "out.mitm"), 0o604);
    expect(reflow(["convert", sample, "-o", join(d, "out.mitm"), "-q"]).status).toBe(0);
    expect(statSync(join(d, "out.mitm")).mode & 0o777).toBe(0o604);
    expect(readFileSync(join(d, "out.mitm")).equals(readFileSync(sample))).toBe(true);
    copyFileSync(sample, join(d, "in.mitm"));
    chmodSync(join(d, "in.mitm"), 0o640);
    expect(reflow(["convert", join(d, "in.mitm"), "-o", join(d, "in.mitm"), "-q"]).status).toBe(0);
    expect(statSync(join(d, "in.mitm")).mode & 0o777).toBe(0o640);
    expect(readFileSync(join(d, "in.mitm")).equals(readFileSync(sample))).toBe(true);
    expect(temps(d)).toEqual([]);
  });

  it("fails on an output folder that does not exist as the normal path does: one line, exit 2", () => {
    const d = scratch();
    const r = reflow(["convert", real, "-o", join(d, "missing", "out.mitm"), "-q"]);
    expect(r.status).toBe(2);
    expect(r.stderr.toString().trim().split("\n"), r.stderr.toString()).toHaveLength(1);
    expect(readdirSync(d)).toEqual([]);
  });

  it("fails on a full disk as the normal path does: one line, exit 2, no temp file left", () => {
    const d = scratch();
    writeFileSync(join(d, "big.mitm"), Buffer.concat(Array.from({ length: 200 }, () => readFileSync(sample))));
    // a file-size limit makes writes fail with EFBIG, as a full disk fails them with ENOSPC
    const r = spawnSync("bash", ["-c", `ulimit -f 8; node '${cliPath}' convert big.mitm -o out.mitm -q`], { cwd: d });
    expect(r.status).toBe(2);
    expect(r.stderr.toString().trim().split("\n"), r.stderr.toString()).toHaveLength(1);
    expect(readdirSync(d).sort()).toEqual(["big.mitm"]);
  });
});
