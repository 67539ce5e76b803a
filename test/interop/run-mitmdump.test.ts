/**
 * `reflow run -s examples/add-header.ts` gives, flow for flow, what
 * `mitmdump -nr IN -s examples/add_header.py -w OUT` gives: the same flows by id, each
 * byte-identical. mitmdump moves incomplete flows to the end and writes a flow with both a
 * response and an error twice; reflow keeps input order and writes each flow once.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { decode, encode, spanAt, type TDict, type TValue } from "../../src/format/tnetstring.js";
import { fixtures, hasMitmdump, projectRoot, reflow, testdata } from "../helpers.js";

function flows(bytes: Buffer): { id: string; bytes: Buffer }[] {
  const out = [];
  for (let pos = 0; pos < bytes.length; ) {
    const s = spanAt(bytes, pos, bytes.length);
    const b = bytes.subarray(pos, s.next);
    out.push({ id: String((decode(b) as TDict).get("id")), bytes: b });
    pos = s.next;
  }
  return out;
}

/** A value with its dicts as key-sorted entry lists: for comparing without key order. */
function unordered(v: TValue | undefined): unknown {
  if (v instanceof Map) return [...v].map(([k, x]) => [String(k), unordered(x)]).sort((p, q) => (p[0]! < q[0]! ? -1 : 1));
  if (Array.isArray(v)) return v.map(unordered);
  return v;
}

const dir = mkdtempSync(join(tmpdir(), "reflow-run-interop-"));
const inputs = [
  join(fixtures, "sample.mitm"),
  join(testdata, "captures", "real-v17.mitm"),
  join(testdata, "captures", "real-v17-chunked.mitm"),
  join(testdata, "captures", "real-v17-incomplete-body.mitm"),
  join(testdata, "captures", "tflow-v17.mitm"),
  join(dir, "corpus.mitm"),
];

describe.skipIf(!hasMitmdump())("reflow run and mitmdump -nr agree on the add-header example", () => {
  beforeAll(() => {
    // a generated corpus (mitmproxy's own writer): responses, errors, gzip/br, websocket, tcp
    execFileSync("/usr/bin/python3", [join(projectRoot, "..", "shared", "tools", "gen_corpus.py"), join(dir, "corpus.mitm"), "400", "11"]);
  });

  it.each(inputs.map((f) => [basename(f), f]))("%s", (_name, input) => {
    const ours = join(dir, `${basename(input)}.reflow.mitm`);
    const theirs = join(dir, `${basename(input)}.mitmdump.mitm`);
    const r = reflow(["run", "-r", input, "-s", join(projectRoot, "examples", "add-header.ts"), "-w", ours, "-q"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    const m = spawnSync("mitmdump", ["-q", "-n", "-r", input, "-s", join(projectRoot, "examples", "add_header.py"), "-w", theirs], {
      encoding: "utf8",
      timeout: 120_000,
    });
    expect(m.status, m.stderr).toBe(0);

    const inIds = flows(readFileSync(input)).map((f) => f.id);
    const mine = flows(readFileSync(ours));
    expect(mine.map((f) => f.id)).toEqual(inIds); // input order, each flow once
    const theirsById = new Map(flows(readFileSync(theirs)).map((f) => [f.id, f.bytes])); // the last write of an id wins
    expect(new Set(theirsById.keys())).toEqual(new Set(inIds));
    for (const f of mine) {
      const other = theirsById.get(f.id)!;
      if (f.bytes.equals(other)) continue;
      // 8.1.1 reverses the key order of a loaded `backup` each time it saves: compare that part
      // without order, and everything else byte for byte
      const [a, b] = [decode(f.bytes) as TDict, decode(other) as TDict];
      expect(a.has("backup"), `flow ${f.id} differs`).toBe(true);
      expect(unordered(a.get("backup"))).toEqual(unordered(b.get("backup")));
      a.delete("backup");
      b.delete("backup");
      expect(encode(a).equals(encode(b)), `flow ${f.id}`).toBe(true);
    }
  });
});
