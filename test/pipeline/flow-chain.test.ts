/** The chain in this process: stages in order, drops, pass-by, followers, sinks, the lazy path, order under overlap, damage. */
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FlowReadError } from "../../src/errors.js";
import { parseFilter } from "../../src/filter/index.js";
import { FlowRecord } from "../../src/format/flow-record.js";
import { MigrationContext } from "../../src/format/migrations/index.js";
import { FlowWriter } from "../../src/io/flow-writer.js";
import type { HTTPFlow } from "../../src/model/index.js";
import { FilterStage } from "../../src/pipeline/filter-stage.js";
import { FlowChain } from "../../src/pipeline/flow-chain.js";
import { FlowFileSink } from "../../src/pipeline/flow-file-sink.js";
import { PassingFlow } from "../../src/pipeline/passing-flow.js";
import { runSavedInputs } from "../../src/pipeline/saved-flow-source.js";
import type { FlowSink, FlowStage } from "../../src/pipeline/stage.js";
import { rawFlows, testdata } from "../helpers.js";

const REAL = join(testdata, "captures", "real-v17.mitm");
const TFLOW = join(testdata, "captures", "tflow-v21.mitm");

/** A sink that keeps what reaches it. */
class Collect implements FlowSink {
  readonly flows: PassingFlow[] = [];
  batches = 0;
  constructor(readonly reads: "record" | "model" = "model") {}
  write(flow: PassingFlow): void {
    this.flows.push(flow);
  }
  endBatch(): void {
    this.batches++;
  }
  async close(): Promise<void> {}
}

/** A stage made of a function; `copies` names flows to follow each flow it passes. */
function stage(process: FlowStage["process"], opts: Partial<FlowStage> = {}): FlowStage {
  return { reads: "model", keepsFlows: false, overlaps: false, process, followers: () => [], ...opts };
}

async function run(path: string, chain: FlowChain): Promise<boolean> {
  const damaged = await runSavedInputs([path], new MigrationContext(), () => chain, { onDamage: () => {} });
  await chain.close();
  return damaged;
}

const paths = (flows: PassingFlow[]): string[] => flows.map((f) => (f.flow.type === "http" ? (f.flow as HTTPFlow).request.path : f.flow.type));

describe("FlowChain", () => {
  it("runs every flow through the stages in order, to every sink, a batch at a time", async () => {
    const seen: string[] = [];
    const first = stage((f) => (seen.push(`1 ${f.flow.id}`), true));
    const second = stage((f) => (seen.push(`2 ${f.flow.id}`), true));
    const a = new Collect();
    const b = new Collect();
    const chain = new FlowChain([first, second], [a, b]);
    expect(await run(REAL, chain)).toBe(false);
    expect(chain.flowsIn).toBe(15);
    expect(a.flows.map((f) => f.flow.id)).toEqual(b.flows.map((f) => f.flow.id));
    expect(a.flows).toHaveLength(15);
    expect(seen.slice(0, 4)).toEqual([`1 ${a.flows[0]!.flow.id}`, `2 ${a.flows[0]!.flow.id}`, `1 ${a.flows[1]!.flow.id}`, `2 ${a.flows[1]!.flow.id}`]);
    expect(a.batches).toBeGreaterThan(0);
  });

  it("drops what a stage refuses: later stages and sinks never see it", async () => {
    const later: string[] = [];
    const filter = new FilterStage(parseFilter("~c 404"));
    const sink = new Collect();
    const chain = new FlowChain([filter, stage((f) => (later.push(f.flow.id), true))], [sink]);
    await run(REAL, chain);
    expect(sink.flows.length).toBeGreaterThan(0);
    expect(sink.flows.every((f) => (f.flow as HTTPFlow).response?.statusCode === 404)).toBe(true);
    expect(later).toEqual(sink.flows.map((f) => f.flow.id));
    expect(filter.unmatched).toBe(15 - sink.flows.length);
  });

  it("tests the filter on a copy: the records it matched stay untouched, to be written as the bytes they were read from", async () => {
    const sink = new Collect("record");
    await run(REAL, new FlowChain([new FilterStage(parseFilter("~c 404 & ~d ."))], [sink]));
    expect(sink.flows.length, "flows with a 404 in the capture").toBeGreaterThan(0);
    const before = rawFlows(readFileSync(REAL));
    for (const f of sink.flows) {
      const record = f.state as FlowRecord;
      expect(record.touched, `flow #${record.raw.index} untouched by the filter`).toBe(false);
      expect(record.raw.bytes.equals(before[record.raw.index]!), `flow #${record.raw.index} as read`).toBe(true);
      expect((f.flow as HTTPFlow).response?.statusCode, `flow #${record.raw.index} read after the filter`).toBe(404);
    }
  });

  it("passes flows by the later stages when the filter keeps the unmatched: unchanged, in input order", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "reflow-chain-")), "kept.mitm");
    const writer = await FlowWriter.open(out);
    const sink = new FlowFileSink(writer, { flushEachBatch: "none", closeWriter: true, onLeftOut: () => {} });
    const filter = new FilterStage(parseFilter("~c 404"), true);
    const marked: string[] = [];
    // an overlapping stage that changes what it sees: earlier flows finish after later ones
    let started = 0;
    const mark = stage(
      async (f, release) => {
        const n = started++;
        release();
        await new Promise((r) => setTimeout(r, 3 * (3 - (n % 3))));
        marked.push(f.flow.id);
        f.flow.comment = "marked";
        return true;
      },
      { overlaps: true, keepsFlows: true },
    );
    await run(REAL, new FlowChain([filter, mark], [sink], { concurrency: 3 }));
    const before = rawFlows(readFileSync(REAL));
    const after = rawFlows(readFileSync(out));
    expect(after).toHaveLength(before.length);
    const matchedAt = new Set<number>();
    const matchedIds: string[] = [];
    const note = stage((f) => (matchedAt.add((f.state as FlowRecord).raw.index), matchedIds.push(f.flow.id), true));
    await run(REAL, new FlowChain([new FilterStage(parseFilter("~c 404")), note], []));
    expect(matchedAt.size, "flows with a 404 in the capture").toBeGreaterThan(0);
    expect(filter.unmatched).toBe(before.length - matchedAt.size);
    expect(marked.sort(), "the later stage sees the matching flows only").toEqual(matchedIds.sort());
    for (let i = 0; i < before.length; i++) {
      if (matchedAt.has(i)) expect(after[i]!.includes("6:marked"), `flow #${i} marked`).toBe(true);
      else expect(after[i]!.equals(before[i]!), `flow #${i} written as read`).toBe(true);
    }
  });

  it("sends a stage's followers after their flow, through the stages after it", async () => {
    const copier = stage(() => true, {
      followers: (f) => (f.flow.type === "http" && (f.flow as HTTPFlow).request.path === "/gzip" ? [PassingFlow.of(f.flow.copy())] : []),
    });
    const marked: string[] = [];
    const sink = new Collect();
    await run(REAL, new FlowChain([copier, stage((f) => (marked.push(f.flow.id), true))], [sink]));
    const ids = sink.flows.map((f) => f.flow.id);
    expect(marked).toEqual(ids);
    const rootAt = paths(sink.flows).indexOf("/gzip");
    expect(rootAt).toBeGreaterThanOrEqual(0);
    expect(paths(sink.flows)[rootAt + 1]).toBe("/gzip"); // the copy right after its original
    expect(ids[rootAt + 1]).not.toBe(ids[rootAt]);
  });

  it("builds no model object when every part reads only records, and writes each flow as read", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "reflow-chain-")), "out.mitm");
    const writer = await FlowWriter.open(out);
    const sink = new FlowFileSink(writer, { flushEachBatch: "kept", closeWriter: true, onLeftOut: () => {} });
    const records: FlowRecord[] = [];
    const watch: FlowStage = { ...stage((f) => (records.push(f.state as FlowRecord), true)), reads: "record" };
    const chain = new FlowChain([watch], [sink]);
    expect(chain.readsRecordsOnly).toBe(true);
    await run(TFLOW, chain);
    expect(records.every((r) => r instanceof FlowRecord && !r.touched)).toBe(true);
    expect(readFileSync(out).equals(readFileSync(TFLOW))).toBe(true);
  });

  it("keeps the input order while an overlapping stage lets later flows start", async () => {
    let inFlight = 0;
    let most = 0;
    let started = 0;
    const slow = stage(
      async (_f, release) => {
        const n = started++;
        inFlight++;
        most = Math.max(most, inFlight);
        release();
        // of each four, the earlier flows wait longer: they finish after later ones
        await new Promise((r) => setTimeout(r, 5 * (4 - (n % 4))));
        inFlight--;
        return true;
      },
      { overlaps: true, keepsFlows: true },
    );
    const sink = new Collect();
    const chain = new FlowChain([slow], [sink], { concurrency: 4 });
    await run(REAL, chain);
    const direct = new Collect();
    await run(REAL, new FlowChain([], [direct]));
    expect(sink.flows.map((f) => f.flow.id)).toEqual(direct.flows.map((f) => f.flow.id));
    expect(most, "flows in flight at once").toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(4);
  });

  it("ends an input at damage a stage finds, after every flow before it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "reflow-chain-"));
    // flow #3's request method is made a bad tnetstring int: found only when something reads it
    const input = rawFlows(readFileSync(REAL));
    const victim = input.findIndex((r, i) => i >= 2 && r.includes("6:method;3:GET,"));
    expect(victim, "an HTTP GET flow to damage").toBeGreaterThan(0);
    const broken = Buffer.from(input[victim]!);
    const m = broken.indexOf("6:method;3:GET,");
    broken.write("#", m + "6:method;".length); // the method's length prefix is no number now
    const path = join(dir, "broken.mitm");
    writeFileSync(path, Buffer.concat([...input.slice(0, victim), broken, ...input.slice(victim + 1)]));
    const sink = new Collect();
    let damage: unknown;
    const chain = new FlowChain([new FilterStage(parseFilter("~m GET"))], [sink]);
    const damaged = await runSavedInputs([path], new MigrationContext(), () => chain, { onDamage: (e) => (damage = e) });
    expect(damaged).toBe(true);
    expect(damage).toBeInstanceOf(FlowReadError);
    expect((damage as FlowReadError).flowIndex).toBe(victim);
    expect(sink.flows.length).toBeLessThanOrEqual(victim);
  });
});
