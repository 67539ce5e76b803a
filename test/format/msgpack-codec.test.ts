/** reflow msgpack: lossless against mitm v21, append-safe, cut files keep their whole records. */
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, copyFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FlowReadError } from "../../src/errors.js";
import { MSGPACK_MAGIC, detectFormat } from "../../src/format/flow-formats.js";
import { FlowRecord } from "../../src/format/flow-record.js";
import { PyFloat, type TDict } from "../../src/format/tnetstring.js";
import { decodeMsgpackState, encodeMsgpackRecord } from "../../src/format/msgpack-codec.js";
import { readFlowRecords, readFlows } from "../../src/io/flow-source.js";
import { HTTPFlow } from "../../src/model/index.js";
import { FlowWriter } from "../../src/io/flow-writer.js";
import { allMitmFiles } from "../helpers.js";

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
