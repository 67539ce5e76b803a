/**
 * Interop with Debian's mitmdump 8.1.1, both ways:
 *  - every readable test file converted by `reflow convert --flow-version 17` loads in
 *    `mitmdump -nr F -w G` with no error and the same flow ids, and mitmdump writes back
 *    exactly our bytes for every flow it does not treat specially;
 *  - what mitmdump captured live (fixtures/sample.mitm) converts to 21 and back to 17 byte-exactly.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { decode, spanAt, type TDict } from "../../src/format/tnetstring.js";
import { allMitmFiles, fixtures, hasMitmdump, reflow } from "../helpers.js";

function flows(bytes: Buffer): { id: string; bytes: Buffer; dict: TDict }[] {
  const out = [];
  for (let pos = 0; pos < bytes.length; ) {
    const s = spanAt(bytes, pos, bytes.length);
    const b = bytes.subarray(pos, s.next);
    const dict = decode(b) as TDict;
    out.push({ id: String(dict.get("id")), bytes: b, dict });
    pos = s.next;
  }
  return out;
}

const readable = allMitmFiles().filter((f) => !f.endsWith("dumpfile-010.mitm"));
const dir = mkdtempSync(join(tmpdir(), "reflow-interop-"));

describe.skipIf(!hasMitmdump())("reflow's v17 output loads in mitmdump 8.1.1", () => {
  it.each(readable.map((f) => [f.split("testdata/")[1]!, f]))("%s", (_name, file) => {
    const v17 = join(dir, `${basename(file)}.v17.mitm`);
    const r = reflow(["convert", file, "-o", v17, "--flow-version", "17", "--skip-unwritable", "-q"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    const ours = flows(readFileSync(v17));
    // the only flows left out are UDP ones, each named in a warning
    const udp = flows(readFileSync(file)).filter((f) => f.dict.get("type") === "udp");
    expect((r.stderr.toString().match(/left out/g) ?? []).length).toBe(udp.length);

    const back = join(dir, `${basename(file)}.mitmdump.mitm`);
    const m = spawnSync("mitmdump", ["-q", "-n", "-r", v17, "-w", back], { encoding: "utf8", timeout: 60_000 });
    expect(m.status, m.stderr).toBe(0);
    expect(m.stderr).not.toMatch(/Traceback|corrupted|cannot read|error/i);
    const theirs = flows(readFileSync(back));
    expect(new Set(theirs.map((f) => f.id))).toEqual(new Set(ours.map((f) => f.id)));
    // mitmdump re-saves what it loaded; for a flow whose id is unique and that has no backup
    // (8.1.1 reverses a loaded backup's key order on every save) it writes exactly our bytes
    const count = new Map<string, number>();
    for (const f of ours) count.set(f.id, (count.get(f.id) ?? 0) + 1);
    for (const t of theirs) {
      if (count.get(t.id) !== 1 || t.dict.has("backup")) continue;
      expect(t.bytes.equals(ours.find((o) => o.id === t.id)!.bytes), t.id).toBe(true);
    }
  });
});

describe("a capture made live by mitmdump 8.1.1 (fixtures/sample.mitm)", () => {
  it("converts to 21 and back to 17 byte-exactly", () => {
    const sample = join(fixtures, "sample.mitm");
    const v21 = join(dir, "sample.v21.mitm");
    const v17 = join(dir, "sample.v17.mitm");
    expect(reflow(["convert", sample, "-o", v21, "--flow-version", "21", "-q"]).status).toBe(0);
    expect(flows(readFileSync(v21)).every((f) => f.dict.get("version") === 21 && f.dict.has("backup"))).toBe(true);
    expect(reflow(["convert", v21, "-o", v17, "--flow-version", "17", "-q"]).status).toBe(0);
    expect(readFileSync(v17).equals(readFileSync(sample))).toBe(true);
  });
});
