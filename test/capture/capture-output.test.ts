/** The live composition's output in this process: finished flows → filter → log and flow file. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CaptureOutput } from "../../src/capture/capture-output.js";
import { parseFilter } from "../../src/filter/index.js";
import { readFlows } from "../../src/io/flow-source.js";
import type { Flow, HTTPFlow } from "../../src/model/index.js";
import { testdata } from "../helpers.js";

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
});
