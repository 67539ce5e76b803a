/** The synchronous framer on its own: chunks pushed in any split, flows out, damage named. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FlowReadError } from "../../src/errors.js";
import { type ChunkPool, FlowFramer, type RawFlow } from "../../src/format/flow-framer.js";
import { testdata } from "../helpers.js";

const real = readFileSync(join(testdata, "captures", "real-v17.mitm"));

/** Drives a framer by hand over `bytes` cut into chunks of `size`; flows are copied out as framed. */
function frameAll(bytes: Buffer, size: number, knownSize?: number, pool?: ChunkPool) {
  const framer = new FlowFramer("t.mitm", knownSize, pool);
  const chunks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  const flows: RawFlow[] = [];
  let pushes = 0;
  try {
    for (;;) {
      const flow = framer.next();
      if (flow) {
        flows.push({ ...flow, bytes: Buffer.from(flow.bytes) });
        continue;
      }
      if (framer.done) break;
      framer.releasePassed();
      while (!framer.fill()) {
        const chunk = chunks.shift();
        if (chunk) {
          framer.push(chunk);
          pushes++;
        } else framer.end();
      }
    }
  } catch (error) {
    return { flows, error, pushes };
  }
  return { flows, error: undefined, pushes };
}

describe("FlowFramer", () => {
  it("frames the same flows, byte for byte, whatever the chunk size", () => {
    const whole = frameAll(real, real.length);
    expect(whole.error).toBeUndefined();
    expect(whole.flows).toHaveLength(15);
    expect(whole.flows.map((f) => f.index)).toEqual([...Array(15).keys()]);
    for (const size of [1, 5, 13, 100, 4096]) {
      const r = frameAll(real, size);
      expect(r.error, `chunks of ${size}`).toBeUndefined();
      expect(r.flows.map((f) => f.offset)).toEqual(whole.flows.map((f) => f.offset));
      expect(Buffer.concat(r.flows.map((f) => f.bytes)).equals(real)).toBe(true);
    }
  });

  it("asks for input before framing, and is done at a clean end", () => {
    const framer = new FlowFramer("t.mitm");
    expect(framer.next()).toBeNull();
    expect(framer.done).toBe(false);
    expect(framer.fill()).toBe(false); // nothing pushed, input not ended
    framer.end();
    expect(framer.fill()).toBe(true);
    expect(framer.next()).toBeNull();
    expect(framer.done).toBe(true); // an empty input holds no flows
  });

  it("takes empty chunks without stalling", () => {
    const framer = new FlowFramer("t.mitm");
    framer.push(Buffer.alloc(0));
    framer.end();
    expect(framer.next()).toBeNull();
    expect(framer.fill()).toBe(true);
    expect(framer.next()).toBeNull();
    expect(framer.done).toBe(true);
  });

  it("reports a flow cut off by the end of the input after the whole ones", () => {
    const cut = real.subarray(0, real.length - 10);
    const r = frameAll(cut, 4096);
    expect(r.flows).toHaveLength(14);
    expect(r.error).toBeInstanceOf(FlowReadError);
    expect((r.error as FlowReadError).code).toBe("E_FLOW_TRUNCATED");
    expect((r.error as FlowReadError).flowIndex).toBe(14);
  });

  it("reports a length prefix that overruns a known size before reading the flow", () => {
    const r = frameAll(real.subarray(0, 200), 50, 200);
    expect(r.flows).toHaveLength(0);
    expect((r.error as FlowReadError).code).toBe("E_FLOW_TRUNCATED");
    expect(r.pushes).toBe(1); // one chunk: enough for the prefix, and the size says the rest is missing
  });

  it("reports bytes that are no flow file, and a top level that is not a dict", () => {
    expect((frameAll(Buffer.from("GET / HTTP/1.1\r\n"), 64).error as FlowReadError).code).toBe("E_FLOW_CORRUPT");
    const notDict = Buffer.from("3:abc,");
    const r = frameAll(Buffer.concat([real, notDict]), 1000);
    expect(r.flows).toHaveLength(15);
    expect((r.error as FlowReadError).code).toBe("E_FLOW_CORRUPT");
  });

  it("copies flows that span chunks into buffers a pool lends, and gives them back", () => {
    const lent = new Set<ArrayBufferLike>();
    const givenBack = new Set<ArrayBufferLike>();
    const pool: ChunkPool = {
      give: (b) => {
        if (lent.has(b.buffer)) givenBack.add(b.buffer);
      },
      lend: (size) => {
        if (size > 600) return undefined; // larger flows: the framer allocates
        const b = Buffer.alloc(1024, 0xee); // its own memory, longer than asked: only `size` bytes may be used
        lent.add(b.buffer);
        return b;
      },
    };
    const whole = frameAll(real, real.length);
    const r = frameAll(real, 500, undefined, pool);
    expect(r.error).toBeUndefined();
    expect(Buffer.concat(r.flows.map((f) => f.bytes)).equals(real)).toBe(true);
    expect(r.flows.map((f) => f.offset)).toEqual(whole.flows.map((f) => f.offset));
    expect(lent.size, "flows spanning chunks were copied into lent buffers").toBeGreaterThan(0);
    expect([...lent].filter((m) => !givenBack.has(m)).length, "lent buffers not given back").toBeLessThanOrEqual(1);
  });

  it("releases every chunk once no flow views it, and none twice", () => {
    const released: Buffer[] = [];
    const r = frameAll(real, 1000, undefined, { give: (b) => released.push(b) });
    expect(r.error).toBeUndefined();
    // a chunk is its memory and where it starts in it (joined buffers may share Node's pool)
    const memory = new Map<ArrayBufferLike, number>();
    const chunkId = (b: Buffer): string => `${memory.get(b.buffer) ?? memory.set(b.buffer, memory.size).get(b.buffer)}:${b.byteOffset}`;
    const ids = released.filter((b) => b.length > 0).map(chunkId);
    expect(new Set(ids).size, "a chunk released twice").toBe(ids.length);
  });
});
