/**
 * The reader under damage: bit flips, truncations, spliced and inflated length prefixes and
 * random bytes may only ever produce reflow's typed errors, never a crash or a hang.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FlowReadError, WriteUnsupportedError } from "../../src/errors.js";
import { FlowRecord } from "../../src/format/flow-record.js";
import { MigrationContext, WRITABLE_VERSIONS } from "../../src/format/migrations/index.js";
import { frameFlows } from "../../src/format/mitm-stream.js";
import { MitmEncoder } from "../../src/format/mitm-writer.js";
import { FlowListing } from "../../src/display/flow-listing.js";
import { parseFilter } from "../../src/filter/index.js";
import { JsonLineEncoder } from "../../src/io/formats/jsonl-line-encoder.js";
import { bothWays } from "../io/formats/jsonl-reference.js";
import { flowOf, flowReadError, readFlows } from "../../src/io/flow-source.js";
import { FlowStateError, ReflowError } from "../../src/errors.js";
import { ContentEncodingError } from "../../src/model/index.js";
import { findFlowDamage } from "../../src/model/flow-check.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { testdata } from "../helpers.js";

const seeds = [
  "captures/real-v17.mitm",
  "captures/tflow-v17.mitm",
  "captures/tflow-v21.mitm",
  "mitmproxy-tests/flows/diff_data.mitm",
  "mitmproxy-tests/dumpfile-7-websocket.mitm",
  "mitmproxy-tests/dumpfile-011.mitm",
  "mitmproxy-tests/flows/event_stream.mitm",
].map((p) => readFileSync(join(testdata, p)));

/** A small deterministic PRNG (mulberry32), so a failure names a case that can be re-run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(r: () => number): Buffer {
  const pick = (n: number): number => Math.floor(r() * n);
  const src = Buffer.from(seeds[pick(seeds.length)]!);
  switch (pick(5)) {
    case 0: // bit flips
      for (let i = 1 + pick(8); i > 0; i--) src[pick(src.length)]! ^= 1 << pick(8);
      return src;
    case 1: // truncation
      return src.subarray(0, pick(src.length));
    case 2: {
      // splice: a piece of one file into another
      const other = seeds[pick(seeds.length)]!;
      const at = pick(src.length);
      const from = pick(other.length);
      return Buffer.concat([src.subarray(0, at), other.subarray(from, from + pick(2000)), src.subarray(at)]);
    }
    case 3: {
      // inflate or shrink a length prefix somewhere (a digit run before ':')
      const text = src.toString("latin1");
      const colons: number[] = [];
      for (let i = text.indexOf(":"); i !== -1 && colons.length < 500; i = text.indexOf(":", i + 1)) colons.push(i);
      const c = colons[pick(colons.length)]!;
      let s = c;
      while (s > 0 && text.charCodeAt(s - 1) >= 48 && text.charCodeAt(s - 1) <= 57) s--;
      const n = [String(pick(10)), "9".repeat(1 + pick(14)), String(Number(text.slice(s, c) || 0) + 1 + pick(50))][pick(3)]!;
      return Buffer.concat([src.subarray(0, s), Buffer.from(n, "latin1"), src.subarray(c)]);
    }
    default: {
      // random bytes, sometimes behind a plausible prefix
      const junk = Buffer.from(Array.from({ length: pick(300) }, () => pick(256)));
      return r() < 0.5 ? junk : Buffer.concat([Buffer.from(`${junk.length}:`), junk]);
    }
  }
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

/** Reads and re-writes every flow the way `convert` does; returns the error, if any. */
async function exercise(bytes: Buffer): Promise<unknown> {
  const migrations = new MigrationContext();
  const encoders = WRITABLE_VERSIONS.map((v) => new MitmEncoder(v));
  try {
    for await (const raw of frameFlows(once(bytes), "fuzz.mitm", bytes.length)) {
      const flow = new FlowRecord(raw, "fuzz.mitm", migrations);
      for (const enc of encoders) {
        try {
          enc.encode(flow);
        } catch (e) {
          if (!(e instanceof WriteUnsupportedError)) throw e;
        }
      }
    }
  } catch (e) {
    return e;
  }
  return undefined;
}

const listings = [1, 4].map((detail) => new FlowListing({ detail: detail as 1 | 4, colour: false, width: null }));
const filters = ["~d example & ~m POST", "~h content-type", "~b x", "~src 127 | ~dst 127", "~c 200 & ~t json", "~websocket | ~tcp"].map((f) =>
  parseFilter(f),
);

const jsonLines = new JsonLineEncoder();

/** Reads every flow the way `show` does (filters, listings, JSON), with its damage named as show names it. */
async function show(bytes: Buffer): Promise<unknown> {
  const migrations = new MigrationContext();
  try {
    for await (const raw of frameFlows(once(bytes), "fuzz.mitm", bytes.length)) {
      const flow = flowOf(new FlowRecord(raw, "fuzz.mitm", migrations));
      try {
        for (const f of filters) f.match(flow);
        for (const l of listings) l.render(flow);
        jsonLines.encode(flow);
      } catch (e) {
        throw flowReadError(flow, e);
      }
    }
  } catch (e) {
    return e;
  }
  return undefined;
}

/**
 * Reads every flow through the library's readFlows and every field of the model, as a script
 * may, with nothing in between to name the damage; returns each failure met.
 */
async function readWhole(path: string): Promise<unknown[]> {
  const failures: unknown[] = [];
  try {
    for await (const flow of readFlows(path)) {
      const damage = findFlowDamage(flow);
      if (damage) failures.push(damage.error);
    }
  } catch (e) {
    failures.push(e);
  }
  return failures;
}

/** A failure a damaged file may cause: typed, with a code (a body's coding: ContentEncodingError). */
const isTyped = (e: unknown): boolean =>
  ((e instanceof ReflowError || e instanceof FlowStateError) && typeof e.code === "string") || e instanceof ContentEncodingError;

describe("fuzzing the reader", () => {
  it("sees only typed errors reading 3,000 damaged inputs whole through readFlows and the model", async () => {
    const r = rng(Number(process.env.FUZZ_SEED ?? 20261202));
    const dir = mkdtempSync(join(tmpdir(), "reflow-fuzz-"));
    const untyped: string[] = [];
    let typed = 0;
    for (let i = 0; i < Number(process.env.FUZZ_CASES ?? 3_000); i++) {
      const file = join(dir, `case-${i % 8}.mitm`);
      writeFileSync(file, mutate(r));
      for (const e of await readWhole(file)) {
        if (isTyped(e)) typed++;
        else if (untyped.length < 5) untyped.push(`case ${i}: ${((e as Error).stack ?? String(e)).split("\n").slice(0, 4).join(" | ")}`);
      }
    }
    expect(untyped).toEqual([]);
    expect(typed).toBeGreaterThan(300);
  });

  it("sees only typed errors over 10,000 damaged inputs", async () => {
    const r = rng(20261121);
    const untyped: string[] = [];
    let typed = 0;
    for (let i = 0; i < 10_000; i++) {
      const input = mutate(r);
      const e = await exercise(input);
      if (e === undefined) continue;
      if (e instanceof FlowReadError) typed++;
      else if (untyped.length < 5) untyped.push(`case ${i}: ${(e as Error).stack ?? String(e)}`);
    }
    expect(untyped).toEqual([]);
    expect(typed).toBeGreaterThan(1000); // the damage was real
  });

  it("writes the JSON lines of 2,000 damaged inputs as flowToJsonLine does, or meets the same damage", async () => {
    const r = rng(20261203);
    let lines = 0;
    for (let i = 0; i < 2_000; i++) {
      const { encoded, reference } = await bothWays(mutate(r));
      expect(encoded, `case ${i}`).toEqual(reference);
      lines += reference.filter((l) => l.startsWith("{")).length;
    }
    expect(lines).toBeGreaterThan(1000); // most damage leaves some flows whole
  });

  it("sees only typed errors reading 3,000 damaged inputs as show does", async () => {
    const r = rng(20261122);
    const untyped: string[] = [];
    let typed = 0;
    for (let i = 0; i < 3_000; i++) {
      const e = await show(mutate(r));
      if (e === undefined) continue;
      if (e instanceof FlowReadError) typed++;
      else if (untyped.length < 5) untyped.push(`case ${i}: ${(e as Error).stack ?? String(e)}`);
    }
    expect(untyped).toEqual([]);
    expect(typed).toBeGreaterThan(300);
  });
});
