/** FlowWriter beside the reader: unchanged flows go out as read, changed ones encoded, in order. */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readFlowRecordBatches, readFlows } from "../../src/io/flow-source.js";
import { FlowWriter } from "../../src/io/flow-writer.js";
import type { HTTPFlow } from "../../src/model/index.js";
import { testdata } from "../helpers.js";

const REAL = join(testdata, "captures", "real-v17.mitm");
const dir = mkdtempSync(join(tmpdir(), "reflow-writer-"));

describe("FlowWriter", () => {
  it("writes unchanged flows from reused read buffers byte for byte", async () => {
    const path = join(dir, "same.mitm");
    const writer = await FlowWriter.open(path);
    for await (const batch of readFlowRecordBatches(REAL, undefined, { reuseBuffers: true })) {
      for (const record of batch) await writer.write(record);
      await writer.releaseReadBuffers(); // before the reader takes the buffers back
    }
    await writer.close();
    expect(readFileSync(path).equals(readFileSync(REAL))).toBe(true);
  });

  it("encodes a changed flow among unchanged ones, in order", async () => {
    const path = join(dir, "changed.mitm");
    const writer = await FlowWriter.open(path);
    const ids: string[] = [];
    for await (const flow of readFlows(REAL)) {
      if (flow.type === "http" && (flow as HTTPFlow).request.path === "/gzip") (flow as HTTPFlow).request.headers.set("x-changed", "1");
      ids.push(flow.id);
      await writer.write(flow);
    }
    await writer.close();
    const back: string[] = [];
    let changed = 0;
    for await (const flow of readFlows(path)) {
      back.push(flow.id);
      if (flow.type === "http" && (flow as HTTPFlow).request.headers.get("x-changed") === "1") changed++;
    }
    expect(back).toEqual(ids);
    expect(changed).toBe(1);
  });
});
