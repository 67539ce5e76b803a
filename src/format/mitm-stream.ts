/**
 * Reads a mitm flow file's chunks through a FlowFramer: the flows handed out in batches,
 * every flow that is whole in what has been read so far.
 */
import { FlowFramer, MITM_RECORDS, type RawFlow, type RecordShape } from "./flow-framer.js";

export type { RawFlow } from "./flow-framer.js";

/** Splits a byte stream into flow records, one at a time (see frameFlowBatches). */
export async function* frameFlows(
  chunks: AsyncIterable<Buffer>,
  file: string,
  knownSize?: number,
): AsyncGenerator<RawFlow> {
  for await (const batch of frameFlowBatches(chunks, file, knownSize)) yield* batch;
}

/**
 * Splits a byte stream into flow records, handed out in batches: every flow that is whole
 * in what has been read so far, so a reader pays for waiting once per chunk, not per flow.
 * `knownSize` (the file size, when there is one) lets a length prefix that overruns the
 * input be reported before anything is allocated. On damage it throws FlowReadError after
 * every complete flow before it was yielded.
 *
 * With `release`, every chunk read is handed to it once no flow views it any more, on the
 * promise that a caller asks for the next batch only when done with the flows of the last.
 * `shape` says how records are delimited (mitm's by default); `start` is the file offset of
 * the first byte of `chunks` (after a header the caller read).
 */
export async function* frameFlowBatches(
  chunks: AsyncIterable<Buffer>,
  file: string,
  knownSize?: number,
  release?: (chunk: Buffer) => void,
  shape: RecordShape = MITM_RECORDS,
  start = 0,
): AsyncGenerator<RawFlow[]> {
  const framer = new FlowFramer(file, knownSize, release, shape, start);
  const it = chunks[Symbol.asyncIterator]();
  let batch: RawFlow[] = [];
  try {
    for (;;) {
      let flow: RawFlow | null;
      try {
        flow = framer.next();
      } catch (e) {
        if (batch.length) yield batch; // every whole flow before the damage
        throw e;
      }
      if (flow) {
        batch.push(flow);
        continue;
      }
      if (batch.length) yield batch;
      batch = [];
      if (framer.done) return;
      framer.releasePassed();
      while (!framer.fill()) {
        const r = await it.next();
        if (r.done) framer.end();
        else framer.push(r.value);
      }
    }
  } finally {
    await it.return?.(); // closes the file when the consumer stops early
  }
}
