/**
 * Flows from files, in order: opens each input, frames it, and hands out FlowRecords.
 * Damage ends an input with a FlowReadError after every complete flow before it.
 */
import { FlowRecord } from "../format/flow-record.js";
import { LoadedFlow, type ReadFlow } from "../format/loaded-flow.js";
import { MigrationContext } from "../format/migrations/index.js";
import { type RawFlow, frameFlowBatches } from "../format/mitm-stream.js";
import { readOtherFormat } from "./flow-formats.js";
import { ChunkRecycler, openInput } from "./input.js";
import { type Flow, flowFromState } from "../model/index.js";

export interface ReadOptions {
  /**
   * The caller's promise: once it asks for more flows, it keeps nothing of those it was
   * handed (no flow, no part of one). Their read buffers are then reused (see ChunkRecycler).
   * A caller that hands flows to user scripts cannot promise it.
   */
  reuseBuffers?: boolean;
}

/**
 * Reads the flows of `path` (`-` for stdin). Pass one MigrationContext to all files of a
 * run: old formats need state kept across files (see mitm-format.md §3).
 */
export async function* readFlowRecords(
  path: string,
  migrations = new MigrationContext(),
  options: ReadOptions = {},
): AsyncGenerator<ReadFlow> {
  for await (const batch of readFlowRecordBatches(path, migrations, options)) yield* batch;
}

/**
 * The flows of `path` in batches (those whole in each stretch of input read): FlowRecords
 * from a mitm file, LoadedFlows from the other formats (the format is told from the first bytes).
 */
export async function* readFlowRecordBatches(
  path: string,
  migrations = new MigrationContext(),
  { reuseBuffers = false }: ReadOptions = {},
): AsyncGenerator<ReadFlow[]> {
  const recycler = reuseBuffers ? new ChunkRecycler() : undefined;
  const input = await openInput(path, recycler);
  tellPosition(input.name, 0, input.size);
  if (input.format !== "mitm") {
    // flows made from HAR entries own their bytes (an entry views its chunk only until then): chunks are read into again
    yield* readOtherFormat(input, recycler && ((chunk: Buffer) => recycler.give(chunk)));
    return;
  }
  for await (const raws of frameFlowBatches(input.chunks, input.name, input.size, recycler)) {
    const last = raws[raws.length - 1]!;
    tellPosition(input.name, last.offset + last.bytes.length, input.size);
    const records: FlowRecord[] = [];
    const refusal = recordsOf(raws, input.name, migrations, recycler, records);
    if (records.length) yield records; // with a refusal: every flow before the one refused
    if (refusal) throw refusal;
  }
}

/**
 * Adds the records of `raws` to `into`, in order, and returns the error that refused one
 * (the flows before it added), or null. A loop of its own, outside the async reader, so that
 * it is compiled once, small (see FlowFramer.frameInto).
 */
function recordsOf(
  raws: readonly RawFlow[],
  file: string,
  migrations: MigrationContext,
  recycler: ChunkRecycler | undefined,
  into: FlowRecord[],
): unknown {
  try {
    for (const raw of raws) {
      const record = new FlowRecord(raw, file, migrations);
      // Old formats migrate with state carried from flow to flow (a WebSocket claims the
      // handshake flow before it): migrate them in file order, whatever reads them later.
      if (!record.isNative) {
        recycler?.stop(); // the migration state may keep parts of this flow
        record.top();
      }
      into.push(record);
    }
  } catch (e) {
    return e;
  }
  return null;
}

/** How far reading has got in one input: its name, the bytes read of it, its size when known. */
export interface ReadPosition {
  file: string;
  offset: number;
  size: number | undefined;
}

/** Told where reading has got to. */
export type ReadPositionListener = (position: ReadPosition) => void;

const positionListeners = new Set<ReadPositionListener>();

/**
 * Calls `listener` as this thread's reading moves on, until the returned function is
 * called: how a progress display follows reads that others drive. It is told once per
 * stretch of input read, not per flow (cheaper than telling it about every flow).
 */
export function watchReadPosition(listener: ReadPositionListener): () => void {
  positionListeners.add(listener);
  return () => positionListeners.delete(listener);
}

function tellPosition(file: string, offset: number, size: number | undefined): void {
  if (positionListeners.size === 0) return;
  const position = { file, offset, size };
  for (const listener of positionListeners) listener(position);
}

/**
 * The flows of a file as model objects, in file order (the library's `readFlows`).
 * Each flow is parsed only as far as it is read.
 */
export async function* readFlows(path: string, migrations = new MigrationContext()): AsyncGenerator<Flow> {
  for await (const batch of readFlowBatches(path, migrations)) yield* batch;
}

/** The flows of a file as model objects, in batches (see readFlowRecordBatches). */
export async function* readFlowBatches(
  path: string,
  migrations = new MigrationContext(),
  options: ReadOptions = {},
): AsyncGenerator<Flow[]> {
  for await (const records of readFlowRecordBatches(path, migrations, options)) {
    const flows: Flow[] = [];
    try {
      for (const record of records) flows.push(flowOf(record));
    } catch (e) {
      if (flows.length) yield flows; // every flow before the one refused
      throw e;
    }
    yield flows;
  }
}

/** The model object of a flow read from a file; a flow of no known type is damage, named as such. */
export function flowOf(record: ReadFlow): Flow {
  try {
    return flowFromState(record);
  } catch (e) {
    throw record.error(e);
  }
}

/**
 * An error met while reading a flow's parts, made the FlowReadError that names its file, byte
 * offset and number: a flow's parts are parsed when first read, so damage inside one shows
 * only then, in whatever reads it (a filter, a listing). Other errors are left as they are.
 */
export function flowReadError(flow: Flow, e: unknown): unknown {
  return flow.state instanceof FlowRecord || flow.state instanceof LoadedFlow ? flow.state.error(e) : e;
}
