/**
 * Test helper: the flows of a file in shared/testdata as FlowRecords.
 */
import { createReadStream } from "node:fs";
import { fileURLToPath } from "node:url";
import { FlowRecord } from "../../src/format/flow-record.js";
import { MigrationContext } from "../../src/format/migrations/index.js";
import { frameFlows } from "../../src/format/mitm-stream.js";

/** Absolute path of a file under shared/testdata. */
export function testdata(rel: string): string {
  return fileURLToPath(new URL(`../../../shared/testdata/${rel}`, import.meta.url));
}

/** Every flow of a test data file, unparsed. */
export async function readRecords(rel: string): Promise<FlowRecord[]> {
  const file = testdata(rel);
  const ctx = new MigrationContext();
  const out: FlowRecord[] = [];
  for await (const raw of frameFlows(createReadStream(file), file)) out.push(new FlowRecord(raw, file, ctx));
  return out;
}
