/**
 * Flows from files, in order: opens each input, frames it, and hands out FlowRecords.
 * Damage ends an input with a FlowReadError after every complete flow before it.
 */
import { InputError } from "../errors.js";
import { FlowRecord } from "../format/flow-record.js";
import { MigrationContext } from "../format/migrations/index.js";
import { frameFlows } from "../format/mitm-stream.js";
import { openInput } from "./input.js";
import { type Flow, flowFromState } from "../model/index.js";

/**
 * Reads the flows of `path` (`-` for stdin). Pass one MigrationContext to all files of a
 * run: old formats need state kept across files (see mitm-format.md §3).
 */
export async function* readFlowRecords(path: string, migrations = new MigrationContext()): AsyncGenerator<FlowRecord> {
  const input = await openInput(path);
  if (input.format !== "mitm")
    throw new InputError("E_FORMAT_UNKNOWN", input.name, `${input.format} input is not supported yet`);
  readPosition.file = input.name;
  readPosition.size = input.size;
  for await (const raw of frameFlows(input.chunks, input.name, input.size)) {
    readPosition.offset = raw.offset + raw.bytes.length;
    yield new FlowRecord(raw, input.name, migrations);
  }
}

/**
 * How far this thread's reading has got, for a progress display to look at now and then
 * (cheaper than telling it about every flow).
 */
export const readPosition: { file: string | null; offset: number; size: number | undefined } = {
  file: null,
  offset: 0,
  size: undefined,
};

/**
 * The flows of a file as model objects, in file order (the library's `readFlows`).
 * Each flow is parsed only as far as it is read.
 */
export async function* readFlows(path: string, migrations = new MigrationContext()): AsyncGenerator<Flow> {
  for await (const record of readFlowRecords(path, migrations)) yield flowFromState(record);
}
