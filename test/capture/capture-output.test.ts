/**
 * The live composition's output in this process: finished flows → filter → log and flow file.
 * Finished flows reach the file by the end of the next event-loop turn, with no write still
 * waiting in the thread pool: a hard kill then loses only the flows of the turn it
 * interrupts, not a backlog that grows under load.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CaptureOutput } from "../../src/capture/capture-output.js";
import { parseFilter } from "../../src/filter/index.js";
import { readFlowRecords, readFlows } from "../../src/io/flow-source.js";
import type { Flow, HTTPFlow } from "../../src/model/index.js";
import { fixtures, flowDicts, testdata } from "../helpers.js";

const REAL = join(testdata, "captures", "real-v17.mitm");

async function flowsOf(path: string): Promise<Flow[]> {
  const out: Flow[] = [];
  for await (const f of readFlows(path)) out.push(f);
  return out;
}

describe("CaptureOutput", () => {
  it("writes and logs only the flows the filter matches, in the order they finish", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "reflow-capture-output-")), "live.mitm");
    let log = "";
    const errors: Error[] = [];
    const output = await CaptureOutput.open({
      path: file,
      append: false,
      version: 21,
      filter: parseFilter("~c 404"),
      detail: 1,
      colour: false,
      log: (t) => (log += t),
      onWriteError: (e) => errors.push(e),
      onLeftOut: (m) => errors.push(new Error(m)),
    });
    expect(output.wantsFlowObjects).toBe(true);
    const flows = await flowsOf(REAL);
    for (const flow of flows) output.add(flow.state, flow);
    await output.close();
    expect(errors).toEqual([]);
    const expected = flows.filter((f) => f.type === "http" && (f as HTTPFlow).response?.statusCode === 404).map((f) => f.id);
    expect(expected.length).toBeGreaterThan(0);
    expect((await flowsOf(file)).map((f) => f.id)).toEqual(expected);
    expect(output.written).toBe(expected.length);
    expect(log.match(/<< 404/g)?.length).toBe(expected.length);
  });

  it("needs no model objects with neither filter nor log", async () => {
    const output = await CaptureOutput.open({
      path: null,
      append: false,
      version: 21,
      filter: null,
      detail: 0,
      colour: false,
      log: () => {},
      onWriteError: () => {},
      onLeftOut: () => {},
    });
    expect(output.wantsFlowObjects).toBe(false);
    await output.close();
  });

  it("has every finished flow in the file after one event-loop turn", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "reflow-capture-output-")), "live.mitm");
    const errors: Error[] = [];
    const output = await CaptureOutput.open({
      path: out,
      append: false,
      version: 21,
      filter: null,
      detail: 0,
      colour: false,
      log: () => {},
      onWriteError: (e) => errors.push(e),
      onLeftOut: (m) => errors.push(new Error(m)),
    });
    const records = [];
    for await (const r of readFlowRecords(join(fixtures, "sample.mitm"))) records.push(r);
    for (const r of records) output.add(r, null);
    // one turn: the setImmediate that writes this turn's flows, and nothing after it
    await new Promise((r) => setImmediate(r));
    const onDisk = flowDicts(readFileSync(out));
    expect(errors).toEqual([]);
    expect(onDisk.length, "flows in the file without waiting for any write").toBe(records.length);
    await output.close();
  });
});
