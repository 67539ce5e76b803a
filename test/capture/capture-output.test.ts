/**
 * A live capture's finished flows reach the file by the end of the next event-loop turn, with
 * no write still waiting in the thread pool: a hard kill then loses only the flows of the
 * turn it interrupts, not a backlog that grows under load.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CaptureOutput } from "../../src/capture/capture-output.js";
import { readFlowRecords } from "../../src/io/flow-source.js";
import { fixtures, flowDicts } from "../helpers.js";

describe("the capture's output", () => {
  it("has every finished flow in the file after one event-loop turn", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "reflow-capture-output-")), "live.mitm");
    const errors: Error[] = [];
    const output = await CaptureOutput.open({
      path: out,
      append: false,
      version: 21,
      filter: null,
      detail: 0,
      log: () => {},
      onWriteError: (e) => errors.push(e),
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
