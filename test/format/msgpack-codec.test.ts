/** reflow msgpack: lossless against mitm v21, append-safe, cut files keep their whole records. */
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, copyFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FlowReadError } from "../../src/errors.js";
import { MSGPACK_MAGIC, detectFormat, msgpackMagic } from "../../src/format/flow-formats.js";
import { FlowRecord } from "../../src/format/flow-record.js";
import { LoadedFlow } from "../../src/format/loaded-flow.js";
import { PyFloat, type TDict } from "../../src/format/tnetstring.js";
import { PackedDict, decodeMsgpackState, encodeMsgpackRecord } from "../../src/format/msgpack-codec.js";
import { EXT_CONTAINER, FRAME_HEADER, PackedValue, skipValue } from "../../src/format/msgpack-values.js";
import { readFlowRecords, readFlows } from "../../src/io/flow-source.js";
import { HTTPFlow, Headers } from "../../src/model/index.js";
import { FlowWriter } from "../../src/io/flow-writer.js";
import { allMitmFiles, fixtures } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "reflow-msgpack-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes every flow of `input` to `output`; false when `input` is damaged (not a round-trip case). */
async function copy(
  input: string,
  output: string,
  opts: { format?: string; version?: 21; append?: boolean } = {},
): Promise<boolean> {
  const w = await FlowWriter.open(output, opts);
  try {
    for await (const f of readFlowRecords(input)) await w.write(f);
  } catch (e) {
    await w.abort();
    if (e instanceof FlowReadError) return false;
    throw e;
  }
  await w.close();
  return true;
}

describe("mitm → msgpack → mitm v21 is byte-identical to mitm → v21", () => {
  const files = allMitmFiles();
  it.each(files.map((f) => [f.split("/testdata/")[1]!, f]))("%s", async (_name, file) => {
    const direct = join(dir, "direct.mitm");
    if (!(await copy(file, direct, { version: 21 }))) return; // a damaged test file: tested elsewhere
    // Migrating a file older than v17 makes up connection ids (as mitmproxy does): its v21
    // form is the reference, read from the file written.
    let native = true;
    for await (const f of readFlowRecords(file)) {
      native = f instanceof FlowRecord && f.isNative;
      break;
    }
    const packed = join(dir, "packed.msgpack");
    expect(await copy(native ? file : direct, packed)).toBe(true);
    expect(detectFormat(readFileSync(packed).subarray(0, 64))).toBe("msgpack");
    const back = join(dir, "back.mitm");
    expect(await copy(packed, back, { version: 21 })).toBe(true);
    expect(readFileSync(back).equals(readFileSync(direct)), "bytes after the round trip").toBe(true);
    // msgpack → msgpack copies untouched records
    const again = join(dir, "again.msgpack");
    expect(await copy(packed, again)).toBe(true);
    expect(readFileSync(again).equals(readFileSync(packed))).toBe(true);
    // a change to one part (only that part is encoded again) ends as the same change made over mitm
    const edit = async (input: string, output: string, opts: { version?: 21 }) => {
      const w = await FlowWriter.open(output, opts);
      for await (const f of readFlows(input)) {
        if (f instanceof HTTPFlow) f.response?.headers.set("newheader", "foo");
        await w.write(f);
      }
      await w.close();
    };
    await edit(direct, join(dir, "edited.mitm"), { version: 21 });
    await edit(packed, join(dir, "edited.msgpack"), {});
    expect(await copy(join(dir, "edited.msgpack"), join(dir, "edited-back.mitm"), { version: 21 })).toBe(true);
    expect(
      readFileSync(join(dir, "edited-back.mitm")).equals(readFileSync(join(dir, "edited.mitm"))),
      "an edit through msgpack",
    ).toBe(true);
    // the parts encoded again are the bytes a whole new encoding makes
    expect(await copy(join(dir, "edited.mitm"), join(dir, "edited-fresh.msgpack"))).toBe(true);
    expect(
      readFileSync(join(dir, "edited.msgpack")).equals(readFileSync(join(dir, "edited-fresh.msgpack"))),
      "an edited record as a fresh encoding writes it",
    ).toBe(true);
  });
});

describe("msgpack values", () => {
  it("keeps floats, ints, bytes and strings apart", () => {
    const dict: TDict = new Map<any, any>([
      ["version", 21],
      ["f", new PyFloat(1)],
      ["nz", -0],
      ["big", 2n ** 70n],
      ["b", Buffer.from("x")],
      ["s", "x"],
      [Buffer.from("k"), [1.5, null, true]],
    ]);
    const rec = encodeMsgpackRecord(dict);
    expect(rec.readUInt32BE(0)).toBe(rec.length - 4);
    const back = decodeMsgpackState(rec.subarray(4));
    expect(back.get("f")).toBeInstanceOf(PyFloat);
    expect((back.get("nz") as PyFloat).value).toBe(-0);
    expect(back.get("big")).toBe(2n ** 70n);
    expect(Buffer.isBuffer(back.get("b"))).toBe(true);
    expect(back.get("s")).toBe("x");
    expect([...back.keys()][6]).toEqual(Buffer.from("k"));
  });
});

describe("msgpack files", () => {
  const sample = allMitmFiles().find((f) => f.endsWith("flows/websocket.mitm"))!;

  it("appends records without a second header", async () => {
    const out = join(dir, "append.msgpack");
    await copy(sample, out);
    const once = readFileSync(out);
    await copy(sample, out, { append: true });
    const twice = readFileSync(out);
    expect(twice.length).toBe(2 * once.length - MSGPACK_MAGIC.length);
    expect(twice.indexOf(MSGPACK_MAGIC, 1)).toBe(-1);
    let n = 0;
    for await (const _ of readFlowRecords(out)) n++;
    let m = 0;
    for await (const _ of readFlowRecords(sample)) m++;
    expect(n).toBe(2 * m);
  });

  it("a cut file keeps its whole records and names the damage", async () => {
    const out = join(dir, "cut.msgpack");
    await copy(sample, out);
    const cut = join(dir, "cut2.msgpack");
    copyFileSync(out, cut);
    truncateSync(cut, statSync(out).size - 10);
    const seen: number[] = [];
    let error: unknown;
    try {
      for await (const f of readFlowRecords(cut)) seen.push(f.raw.index);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FlowReadError);
    expect((error as FlowReadError).code).toBe("E_FLOW_TRUNCATED");
    let total = 0;
    for await (const _ of readFlowRecords(out)) total++;
    expect(seen.length).toBe(total - 1);
  });
});

/** The records of a msgpack file: [version, payloads]. */
function recordsOf(file: string): { version: number; payloads: Buffer[] } {
  const b = readFileSync(file);
  const version = Number(b.subarray(0, b.indexOf(0x0a)).toString("latin1").split(" ")[1]);
  const payloads: Buffer[] = [];
  for (let at = MSGPACK_MAGIC.length; at < b.length;) {
    const n = b.readUInt32BE(at);
    payloads.push(b.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return { version, payloads };
}

/** The entries of the msgpack map at `b[at]`: each key, where the entry starts, where its value starts and ends. */
function mapEntries(b: Buffer, at: number): { key: unknown; start: number; value: number; end: number }[] {
  const c = b[at]!;
  const count = (c & 0xf0) === 0x80 ? c & 0x0f : b.readUInt16BE(at + 1);
  let p = at + ((c & 0xf0) === 0x80 ? 1 : 3);
  const out: { key: unknown; start: number; value: number; end: number }[] = [];
  for (let i = 0; i < count; i++) {
    const keyEnd = skipValue(b, p);
    const end = skipValue(b, keyEnd);
    out.push({ key: b.toString("latin1", p + 1, keyEnd), start: p, value: keyEnd, end });
    p = end;
  }
  return out;
}

/** Where the items of the msgpack list at `b[at]` start. */
function listItems(b: Buffer, at: number): number[] {
  const c = b[at]!;
  const count = (c & 0xf0) === 0x90 ? c & 0x0f : b.readUInt16BE(at + 1);
  let p = at + ((c & 0xf0) === 0x90 ? 1 : 3);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    out.push(p);
    p = skipValue(b, p);
  }
  return out;
}

const isMap = (c: number) => (c >= 0x80 && c <= 0x8f) || c === 0xde || c === 0xdf;
const isList = (c: number) => (c >= 0x90 && c <= 0x9f) || c === 0xdc || c === 0xdd;
const isFramed = (b: Buffer, at: number) => b[at] === 0xc9 && b[at + 5] === EXT_CONTAINER;

describe("msgpack version 2", () => {
  const sample = join(fixtures, "sample.mitm");

  it("frames the containers of the top two levels with their byte length, and no deeper ones", async () => {
    const packed = join(dir, "framed.msgpack");
    expect(await copy(sample, packed)).toBe(true);
    const { version, payloads } = recordsOf(packed);
    expect(version).toBe(2);
    let level2Lists = 0;
    for (const p of payloads) {
      for (const e1 of mapEntries(p, 0)) {
        const c = p[e1.value]!;
        expect(isMap(c) || isList(c), `a bare container at level 1 (${String(e1.key)})`).toBe(false);
        if (!isFramed(p, e1.value)) continue;
        expect(p.readUInt32BE(e1.value + 1), "a frame's length").toBe(e1.end - e1.value - FRAME_HEADER);
        const inner = e1.value + FRAME_HEADER;
        if (!isMap(p[inner]!)) continue;
        for (const e2 of mapEntries(p, inner)) {
          const c2 = p[e2.value]!;
          expect(isMap(c2) || isList(c2), `a bare container at level 2 (${String(e2.key)})`).toBe(false);
          if (!isFramed(p, e2.value) || !isList(p[e2.value + FRAME_HEADER]!)) continue;
          level2Lists++;
          // level 3 (a header's [name, value] pair) is plain msgpack
          for (const item of listItems(p, e2.value + FRAME_HEADER))
            expect(isFramed(p, item), `a framed item in ${String(e2.key)}`).toBe(false);
        }
      }
    }
    expect(level2Lists, "header lists seen").toBeGreaterThan(0);
  });

  it("a change to one response header leaves the other entries' bytes as read", async () => {
    const packed = join(dir, "lazy.msgpack");
    expect(await copy(sample, packed)).toBe(true);
    const { payloads } = recordsOf(packed);
    const p = payloads.find((x) => decodeMsgpackState(x).get("response") !== null)!;
    const dict = PackedDict.read(p, 2);
    const headers = (dict.get("response") as PackedDict).get("headers") as Buffer[][];
    headers.push([Buffer.from("newheader"), Buffer.from("foo")]);
    const written = encodeMsgpackRecord(dict).subarray(4);
    // the flow decodes to the change made, nothing else
    const want = decodeMsgpackState(p);
    ((want.get("response") as TDict).get("headers") as Buffer[][]).push([Buffer.from("newheader"), Buffer.from("foo")]);
    expect(decodeMsgpackState(written)).toEqual(want);
    // the entries around the response, and the response's own entries around its headers, are the bytes read
    const grown = written.length - p.length;
    const response = mapEntries(p, 0).find((e) => e.key === "response")!;
    expect(written.subarray(0, response.value).equals(p.subarray(0, response.value)), "before the response").toBe(true);
    expect(written.subarray(response.end + grown).equals(p.subarray(response.end)), "after the response").toBe(true);
    const inner = response.value + FRAME_HEADER;
    const h = mapEntries(p, inner).find((e) => e.key === "headers")!;
    expect(
      written.subarray(inner, h.value).equals(p.subarray(inner, h.value)),
      "response entries before its headers",
    ).toBe(true);
    expect(written.subarray(h.end + grown, response.end + grown).equals(p.subarray(h.end, response.end))).toBe(true);
    // an untouched record is written as it was read
    expect(encodeMsgpackRecord(PackedDict.read(p, 2)).subarray(4).equals(p)).toBe(true);
  });

  it("a record whose frame overruns it is damage named with its flow; the flows before it read", async () => {
    const packed = join(dir, "frame-damage.msgpack");
    expect(await copy(sample, packed)).toBe(true);
    const b = Buffer.from(readFileSync(packed));
    // the first framed entry of record 2 claims more bytes than the record holds
    let at = MSGPACK_MAGIC.length;
    for (let i = 0; i < 2; i++) at += 4 + b.readUInt32BE(at);
    const frame = mapEntries(b.subarray(at + 4, at + 4 + b.readUInt32BE(at)), 0).find((e) =>
      isFramed(b, at + 4 + e.value),
    )!;
    b.writeUInt32BE(0x7fffff, at + 4 + frame.value + 1);
    const broken = join(dir, "frame-damage-2.msgpack");
    writeFileSync(broken, b);
    const ids: string[] = [];
    let error: unknown;
    try {
      for await (const f of readFlows(broken)) ids.push(f.id); // making the flow reads its record
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(FlowReadError);
    expect((error as FlowReadError).flowIndex).toBe(2);
    expect(ids.length, "the flows before the damage").toBe(2);
  });

  it("header edits made on the stored bytes write what the same edits on the decoded list write, in every test file", async () => {
    /** What a script may do to headers (the same as over mitm: see mitm-writer.test.ts); what it reads back is compared too. */
    const edits: ((h: Headers, first: string) => unknown)[] = [
      (h) => h.set("newheader", "foo"),
      (h, first) => h.set(first.toUpperCase(), "x"),
      (h) => h.add("X-Added", "1"),
      (h, first) => h.setAll(first, ["a=1", "b=2"]),
      (h, first) => h.setAll(first, []),
      (h, first) => h.delete(first),
      (h) => h.delete("not-there"),
      (h, first) => h.delete(first) && h.add(first, "ruled"),
      (h, first) => [h.set("newheader", "foo"), h.set(first, "y"), h.get("newheader"), h.getAll(first), h.length],
    ];
    let stored = 0;
    const packed = join(dir, "edits.msgpack");
    for (const file of allMitmFiles()) {
      if (!(await copy(file, packed))) continue; // damaged on purpose: not about writing
      for (const p of recordsOf(packed).payloads) {
        for (const edit of edits) {
          const onBytes = PackedDict.read(p, 2);
          const onList = PackedDict.read(p, 2);
          const response = onBytes.get("response");
          if (!(response instanceof PackedDict)) break;
          const listed = Headers.overEntry(onList.get("response") as TDict, "headers", "response");
          let first: string;
          try {
            first = listed.fields[0]?.[0].toString("latin1") ?? "none"; // decodes the list
          } catch {
            break; // a response without a header list (damaged on purpose): not about writing
          }
          const where = `${file}: ${edit.toString()}`;
          expect(edit(Headers.overEntry(response, "headers", "response"), first), where).toEqual(edit(listed, first));
          const entries = response.stored(); // null once something filled the dict
          for (let i = 0; entries && i < entries.count; i++) {
            const state = entries.state(i);
            if (typeof state === "object" && "value" in state && state.value instanceof PackedValue) stored++;
          }
          expect(encodeMsgpackRecord(onBytes).toString("latin1"), where).toBe(encodeMsgpackRecord(onList).toString("latin1"));
        }
      }
    }
    expect(stored).toBeGreaterThan(40); // the edits on the stored bytes were taken, not the decoding path
  });

  it("looks headers up in the stored bytes: same values as over mitm, and the flow stays untouched", async () => {
    const packed = join(dir, "lookup.msgpack");
    expect(await copy(sample, packed)).toBe(true);
    const names = ["host", "content-type", "set-cookie", "HOST", "x-absent"];
    const seen = async (file: string) => {
      const out: unknown[] = [];
      for await (const f of readFlows(file)) {
        if (!(f instanceof HTTPFlow)) continue;
        for (const n of names) out.push(f.request.headers.getAll(n), f.response?.headers.has(n));
        if (file === packed) expect((f.state as LoadedFlow).touched, "a flow only looked up").toBe(false);
      }
      return out;
    };
    const fromMitm = await seen(sample);
    expect(fromMitm.some((v) => Array.isArray(v) && v.length > 0)).toBe(true);
    expect(await seen(packed)).toEqual(fromMitm);
  });

  it("decodes a version-1 and a version-2 record of a flow to the same state", async () => {
    const v1 = recordsOf(join(fixtures, "sample-v1.msgpack"));
    const packed = join(dir, "same.msgpack");
    expect(await copy(join(fixtures, "sample-v1.msgpack"), packed)).toBe(true);
    const v2 = recordsOf(packed);
    expect(v1.version).toBe(1);
    expect(v2.version).toBe(2);
    expect(v2.payloads.length).toBe(v1.payloads.length);
    v1.payloads.forEach((p, i) => expect(decodeMsgpackState(v2.payloads[i]!)).toEqual(decodeMsgpackState(p)));
  });
});

describe("msgpack version 1 (files written before version 2)", () => {
  const v1File = join(fixtures, "sample-v1.msgpack");
  const sample = join(fixtures, "sample.mitm");

  it("stays readable: version 1 → mitm v21 is byte-identical to mitm → v21", async () => {
    const direct = join(dir, "v1-direct.mitm");
    const back = join(dir, "v1-back.mitm");
    expect(await copy(sample, direct, { version: 21 })).toBe(true);
    expect(await copy(v1File, back, { version: 21 })).toBe(true);
    expect(readFileSync(back).equals(readFileSync(direct))).toBe(true);
  });

  it("is written again exactly as the version-1 writer wrote the fixture", () => {
    const { payloads } = recordsOf(v1File);
    expect(payloads.length).toBeGreaterThan(0);
    payloads.forEach((want, i) =>
      expect(encodeMsgpackRecord(decodeMsgpackState(want), 1).subarray(4).equals(want), `record ${i}`).toBe(true),
    );
  });

  it("appending to a version-1 file adds version-1 records (one header, readable as one file)", async () => {
    const out = join(dir, "append-v1.msgpack");
    copyFileSync(v1File, out);
    await copy(sample, out, { append: true });
    const { version, payloads } = recordsOf(out);
    expect(version).toBe(1);
    expect(readFileSync(out).indexOf(msgpackMagic(1), 1)).toBe(-1);
    const once = recordsOf(v1File).payloads;
    expect(payloads.length).toBe(2 * once.length);
    // the records added are the version-1 records the old writer made
    payloads.slice(once.length).forEach((p, i) => expect(p.equals(once[i]!), `record ${i}`).toBe(true));
  });

  it("a version this reflow does not know is refused, naming it", async () => {
    const later = join(dir, "later.msgpack");
    writeFileSync(
      later,
      Buffer.concat([Buffer.from("REFLOW-MSGPACK 3\n"), readFileSync(v1File).subarray(MSGPACK_MAGIC.length)]),
    );
    let error: unknown;
    try {
      for await (const _ of readFlowRecords(later));
    } catch (e) {
      error = e;
    }
    expect((error as FlowReadError).code).toBe("E_FLOW_VERSION");
  });

  it("copies an untouched version-1 file to version 2 (new files are always the newest version)", async () => {
    const out = join(dir, "v1-to-v2.msgpack");
    expect(await copy(v1File, out)).toBe(true);
    expect(readFileSync(out).subarray(0, MSGPACK_MAGIC.length).equals(msgpackMagic(2))).toBe(true);
  });
});
