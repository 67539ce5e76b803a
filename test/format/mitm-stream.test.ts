import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FlowReadError } from "../../src/errors.js";
import { frameFlowBatches, frameFlows, type RawFlow } from "../../src/format/mitm-stream.js";
import { testdata } from "../helpers.js";

const real = readFileSync(join(testdata, "captures", "real-v17.mitm"));

/** Feeds `bytes` to the framer in chunks of `size`. */
async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function frame(bytes: Buffer, size: number, knownSize?: number): Promise<{ flows: RawFlow[]; error?: unknown }> {
  const flows: RawFlow[] = [];
  try {
    for await (const f of frameFlows(chunked(bytes, size), "test.mitm", knownSize)) flows.push({ ...f, bytes: Buffer.from(f.bytes) });
  } catch (error) {
    return { flows, error };
  }
  return { flows };
}

describe("frameFlows", () => {
  it("gives the same flows whatever the chunk size", async () => {
    const whole = await frame(real, real.length);
    expect(whole.flows).toHaveLength(15);
    for (const size of [1, 7, 100, 4096]) {
      const r = await frame(real, size);
      expect(r.error).toBeUndefined();
      expect(r.flows.map((f) => f.offset)).toEqual(whole.flows.map((f) => f.offset));
      expect(Buffer.concat(r.flows.map((f) => f.bytes)).equals(real)).toBe(true);
    }
  });

  it("hands out, per batch, every flow that is whole in what was read; damage after the whole ones", async () => {
    const batches: number[][] = [];
    for await (const batch of frameFlowBatches(chunked(real, real.length), "test.mitm")) batches.push(batch.map((f) => f.index));
    expect(batches).toEqual([[...Array(15).keys()]]); // one read, one batch
    const damaged = Buffer.concat([real, Buffer.from("9x:")]);
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const batch of frameFlowBatches(chunked(damaged, damaged.length), "test.mitm"))
          seen.push(...batch.map((f) => f.index));
      })(),
    ).rejects.toThrow(FlowReadError);
    expect(seen).toEqual([...Array(15).keys()]);
  });

  it("hands a chunk back only once no flow of a batch still to be used views it", async () => {
    const whole = await frame(real, real.length);
    for (const size of [7, 100, 4096, 65536]) {
      // Every chunk is its own memory, as the file reader's are; a chunk handed back is
      // overwritten at once, as a reused read buffer would be.
      const chunks = new Set<ArrayBufferLike>();
      const copies = async function* (): AsyncGenerator<Buffer> {
        for await (const c of chunked(real, size)) {
          const memory = new ArrayBuffer(c.length);
          new Uint8Array(memory).set(c);
          chunks.add(memory);
          yield Buffer.from(memory);
        }
      };
      const released = new Set<ArrayBufferLike>();
      const release = (chunk: Buffer): void => {
        if (!chunks.has(chunk.buffer)) return; // not a chunk read (joined bytes): not handed back
        expect(released.has(chunk.buffer)).toBe(false); // once only
        released.add(chunk.buffer);
        new Uint8Array(chunk.buffer).fill(0x21);
      };
      const seen: Buffer[] = [];
      for await (const batch of frameFlowBatches(copies(), "test.mitm", undefined, { give: release }))
        for (const f of batch) seen.push(Buffer.from(f.bytes)); // used before asking for more
      expect(seen.map((b) => b.toString("latin1"))).toEqual(whole.flows.map((f) => f.bytes.toString("latin1")));
      if (size < 4096) expect(released.size).toBeGreaterThan(10);
    }
  });

  it("reads an empty input as no flows", async () => {
    expect(await frame(Buffer.alloc(0), 10)).toEqual({ flows: [] });
  });

  it("yields every complete flow before a truncation, then names file, offset and flow", async () => {
    const whole = await frame(real, real.length);
    const cut = whole.flows[5]!.offset + 100;
    for (const knownSize of [undefined, cut]) {
      const r = await frame(real.subarray(0, cut), 999, knownSize);
      expect(r.flows).toHaveLength(5);
      expect(r.error).toBeInstanceOf(FlowReadError);
      const e = r.error as FlowReadError;
      expect(e.code).toBe("E_FLOW_TRUNCATED");
      expect(e.offset).toBe(whole.flows[5]!.offset);
      expect(e.flowIndex).toBe(5);
      expect(e.file).toBe("test.mitm");
      expect(e.exitCode).toBe(3);
    }
  });

  it("reports a length prefix larger than the file before allocating it", async () => {
    const huge = Buffer.from("999999999999:", "latin1");
    const r = await frame(Buffer.concat([real, huge]), 4096, real.length + huge.length);
    expect(r.flows).toHaveLength(15);
    expect((r.error as FlowReadError).code).toBe("E_FLOW_TRUNCATED");
    expect((r.error as FlowReadError).offset).toBe(real.length);
  });

  it("refuses a 13-digit prefix, a non-dict element and garbage", async () => {
    const cases: [string, string][] = [
      ["1234567890123:x", "E_FLOW_CORRUPT"],
      ["3:abc,", "E_FLOW_CORRUPT"],
      ["import os\n", "E_FLOW_CORRUPT"],
      ["12", "E_FLOW_TRUNCATED"],
    ];
    for (const [text, code] of cases) {
      const r = await frame(Buffer.from(text, "latin1"), 3);
      expect((r.error as FlowReadError).code, text).toBe(code);
    }
  });
});
