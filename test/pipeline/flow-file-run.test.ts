/**
 * writeSavedInputs in this process: an identity run made as a kernel copy of its input writes
 * what the normal run writes, byte for byte, with the same counts and damage; a copy that
 * cannot stand (a flow rewritten, the input changed) is thrown away and the normal run written.
 */
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { readFlowRecordBatches } from "../../src/io/flow-source.js";
import type { FlowWriter } from "../../src/io/flow-writer.js";
import { CopyAbandoned, InputCopy, inputCopyCounts } from "../../src/io/input-copy.js";
import { FlowChain } from "../../src/pipeline/flow-chain.js";
import { writeSavedInputs } from "../../src/pipeline/flow-file-run.js";
import { FlowFileSink } from "../../src/pipeline/flow-file-sink.js";
import { fixtures, manyBuffersCapture, rawFlows, testdata } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "reflow-copy-"));
const real = join(testdata, "captures", "real-v17.mitm");
const v21 = join(testdata, "captures", "tflow-v21.mitm");
let outputs = 0;

/** Every file under ../shared/testdata that reflow reads as flows, sorted. */
function flowFiles(): string[] {
  return readdirSync(testdata, { recursive: true, encoding: "utf8" })
    .filter((p) => /\.(mitm|har|zhar)$/.test(p))
    .map((p) => join(testdata, p))
    .filter((p) => statSync(p).isFile())
    .sort();
}

/** What one run wrote and told. */
interface Outcome {
  bytes: Buffer;
  count: number;
  flowsIn: number;
  version: number | undefined;
  damaged: boolean;
  damage: string[];
  leftOut: number;
  copying: boolean;
  committed: number;
}

/** Runs `input` into a new file as convert composes it, as a copy when `identity`. */
async function convert(input: string, identity: boolean): Promise<Outcome> {
  const output = join(dir, `out-${++outputs}.mitm`);
  const damage: string[] = [];
  let leftOut = 0;
  const compose = (writer: FlowWriter): FlowChain =>
    new FlowChain(
      [],
      [new FlowFileSink(writer, { flushEachBatch: "kept", closeWriter: true, onLeftOut: () => void leftOut++ })],
    );
  const committed = inputCopyCounts.committed;
  const run = await writeSavedInputs(
    [input],
    output,
    compose,
    { onDamage: (e) => void damage.push(e.message) },
    {
      writer: { format: "mitm", like: input },
      identity,
    },
  );
  return {
    bytes: readFileSync(output),
    count: run.writer.count,
    flowsIn: run.chain.flowsIn,
    version: run.writer.version,
    damaged: run.damaged,
    damage,
    leftOut,
    copying: run.writer.copying,
    committed: inputCopyCounts.committed - committed,
  };
}

/** A flow file's bytes with every UUID the same (of equal length: the tnetstring lengths stay true). */
function withoutIds(bytes: Buffer): string {
  return bytes
    .toString("latin1")
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, "u".repeat(36));
}

/** The copied run's outcome equals the normal run's, but for how it was made. */
async function expectSameAsNormal(input: string): Promise<Outcome> {
  const normal = await convert(input, false);
  const copied = await convert(input, true);
  const name = relative(testdata, input);
  expect(normal.copying, `${name}: the normal run`).toBe(false);
  if (copied.committed) expect(copied.bytes.equals(normal.bytes), `${name}: the copy's bytes`).toBe(true);
  // written the normal way twice: migrations give old flows new random ids
  else expect(withoutIds(copied.bytes), `${name}: the bytes of the run after the copy`).toBe(withoutIds(normal.bytes));
  const { bytes: _a, copying: _b, committed: _c, ...told } = copied;
  const { bytes: _d, copying: _e, committed: _f, ...toldNormal } = normal;
  expect(told, `${name}: counts and damage`).toEqual(toldNormal);
  expect(
    readdirSync(dir).filter((n) => n.endsWith(".tmp")),
    `${name}: temp files left`,
  ).toEqual([]);
  return copied;
}

describe("an identity run as a kernel copy", () => {
  it("writes every testdata file as the normal run does", async () => {
    const files = flowFiles();
    expect(files.length).toBeGreaterThan(30);
    let copies = 0;
    for (const file of files) {
      const refusal = await convert(file, false).then(
        () => null,
        (e: { code?: string }) => e.code ?? String(e),
      );
      if (refusal) await expect(convert(file, true), relative(testdata, file)).rejects.toMatchObject({ code: refusal });
      else copies += (await expectSameAsNormal(file)).committed;
    }
    expect(copies, "files with flows of one native version are copied").toBeGreaterThanOrEqual(10);
  });

  it("is taken for a file of one native version, and for one spanning many read buffers", async () => {
    expect((await expectSameAsNormal(real)).committed).toBe(1);
    expect((await expectSameAsNormal(v21)).committed).toBe(1);
    expect((await expectSameAsNormal(join(fixtures, "sample.mitm"))).committed).toBe(1);
    expect((await expectSameAsNormal(manyBuffersCapture(mkdtempSync(join(dir, "many-"))).file)).committed).toBe(1);
  });

  it("is not taken for an old version (migrated) or HAR: the normal run writes them", async () => {
    expect((await expectSameAsNormal(join(testdata, "mitmproxy-tests", "dumpfile-7.mitm"))).committed).toBe(0);
    expect((await expectSameAsNormal(join(testdata, "mitmproxy-tests", "har_files", "chrome.har"))).committed).toBe(0);
  });

  it("is cut back to the last whole flow when the file is cut inside a flow", async () => {
    const bytes = readFileSync(real);
    const flows = rawFlows(bytes);
    const cut = join(dir, "cut.mitm");
    writeFileSync(cut, bytes.subarray(0, bytes.length - Math.floor(flows.at(-1)!.length / 2)));
    const copied = await expectSameAsNormal(cut);
    expect(copied.committed).toBe(1);
    expect(copied.damaged).toBe(true);
    expect(copied.damage).toHaveLength(1);
    expect(copied.count).toBe(flows.length - 1);
    expect(copied.bytes.equals(bytes.subarray(0, bytes.length - flows.at(-1)!.length))).toBe(true);
  });

  it("is cut back before a garbage tail", async () => {
    const tail = join(dir, "tail.mitm");
    writeFileSync(tail, Buffer.concat([readFileSync(real), Buffer.from("garbage\n")]));
    const copied = await expectSameAsNormal(tail);
    expect(copied.committed).toBe(1);
    expect(copied.damaged).toBe(true);
    expect(copied.bytes.equals(readFileSync(real))).toBe(true);
  });

  it("writes nothing for a file damaged at its first flow", async () => {
    const copied = await expectSameAsNormal(join(testdata, "mitmproxy-tests", "dumpfile-010.mitm"));
    expect(copied.damaged).toBe(true);
    expect(copied.bytes.length).toBe(0);
  });

  it("is thrown away for a file of mixed versions (a flow migrated): the normal run is written", async () => {
    const mixed = join(dir, "mixed.mitm");
    writeFileSync(mixed, Buffer.concat([readFileSync(real), readFileSync(v21)]));
    const started = inputCopyCounts.started;
    const copied = await expectSameAsNormal(mixed);
    expect(inputCopyCounts.started - started, "a copy was started, for the copied run").toBe(1);
    expect(copied.committed, "and thrown away").toBe(0);
    expect(copied.copying).toBe(false);
    expect(copied.bytes.equals(readFileSync(mixed)), "v21 flows were written at v17").toBe(false);
  });
});

describe("InputCopy", () => {
  it("refuses to stand for an input that grew after it was copied: the read checked more", async () => {
    const input = join(dir, "growing.mitm");
    copyFileSync(real, input);
    const grown = join(dir, "grown.mitm");
    writeFileSync(grown, Buffer.concat([readFileSync(real), readFileSync(real)]));
    const output = join(dir, "grown-out.mitm");
    const copy = InputCopy.open(output, input)!;
    // the flows the read would have framed had the input grown after the copy started
    for await (const batch of readFlowRecordBatches(grown)) for (const record of batch) copy.take(record.raw);
    await expect(copy.commit()).rejects.toBeInstanceOf(CopyAbandoned);
    await copy.abort();
    expect(
      readdirSync(dir).filter((n) => n.startsWith(".grown-out")),
      "the copy removed",
    ).toEqual([]);
    expect(() => statSync(output), "no output made").toThrow();
  });

  it("is not made for stdin, stdout, a non-mitm input or an output that is not a regular file", () => {
    expect(InputCopy.open("-", real)).toBeNull();
    expect(InputCopy.open(join(dir, "x.mitm"), "-")).toBeNull();
    expect(
      InputCopy.open(join(dir, "x.mitm"), join(testdata, "mitmproxy-tests", "har_files", "chrome.har")),
    ).toBeNull();
    expect(InputCopy.open(dir, real), "a directory").toBeNull();
  });
});
