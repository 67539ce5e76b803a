/**
 * Appending to a flow file that ends in a cut-off flow (what a killed writer leaves) is
 * refused before anything is written: the new flows would sit inside the cut one, where no
 * reader finds them. A file that ends on a whole flow is appended to as before.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { reflow, testdata } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "reflow-append-target-"));
const real = join(testdata, "captures", "real-v17.mitm");
const more = join(testdata, "captures", "tflow-v17.mitm");

/** The flows `reflow show --json` reads from `path`, and its exit code. */
function flowsIn(path: string): { count: number; status: number | null } {
  const r = reflow(["show", path, "--json"]);
  return { count: r.stdout.toString().split("\n").filter(Boolean).length, status: r.status };
}

/** Byte offset of flow `index` in a file of `format`, found by reading it as reflow does. */
function flowOffset(path: string, format: string, index: number): number {
  const b = readFileSync(path);
  if (format === "jsonl") {
    let at = 0;
    for (let i = 0; i < index; i++) at = b.indexOf(0x0a, at) + 1;
    return at;
  }
  let at = format === "msgpack" ? b.indexOf(0x0a) + 1 : 0;
  for (let i = 0; i < index; i++)
    at = format === "msgpack" ? at + 4 + b.readUInt32BE(at) : b.indexOf(0x3a, at) + 1 + Number(b.toString("latin1", at, b.indexOf(0x3a, at))) + 1;
  return at;
}

describe("reflow run -a onto a file", () => {
  for (const format of ["mitm", "msgpack", "jsonl"]) {
    it(`that ends in a cut-off flow is refused, the file left as it was (${format})`, () => {
      const whole = join(dir, `whole.${format}`);
      expect(reflow(["convert", real, "-o", whole]).status).toBe(0);
      const cutAt = flowOffset(whole, format, 4);
      const next = flowOffset(whole, format, 5);
      const out = join(dir, `cut.${format}`);
      const cutBytes = readFileSync(whole).subarray(0, cutAt + Math.floor((next - cutAt) / 2)); // half of flow #4
      writeFileSync(out, cutBytes);
      const r = reflow(["run", "-r", more, "-a", out]);
      const err = r.stderr.toString();
      expect(r.status, err).toBe(2);
      expect(err.trim().split("\n"), err).toHaveLength(1);
      expect(err).toContain(out);
      expect(err).toContain(`byte offset ${cutAt}, flow #4`);
      expect(readFileSync(out).equals(cutBytes), "the file is left as it was").toBe(true);
    });

    it(`that ends on a whole flow gets the flows after its own (${format})`, () => {
      const out = join(dir, `sound.${format}`);
      expect(reflow(["convert", real, "-o", out]).status).toBe(0);
      const before = flowsIn(out).count;
      const r = reflow(["run", "-r", more, "-a", out]);
      expect(r.status, r.stderr.toString()).toBe(0);
      expect(flowsIn(out)).toEqual({ count: before + flowsIn(more).count, status: 0 });
    });
  }
});
