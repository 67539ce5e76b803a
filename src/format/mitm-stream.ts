/**
 * Reads a mitm flow file's chunks through a FlowFramer: the flows handed out in batches,
 * every flow that is whole in what has been read so far.
 */
import { type ChunkPool, FlowFramer, MITM_RECORDS, type RawFlow, type RecordShape } from "./flow-framer.js";

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
 * With a `pool`, every chunk read is given back to it once no flow views it any more, on the
 * promise that a caller asks for the next batch only when done with the flows of the last
 * (a pool with `lend` also lends the buffers that flows spanning chunks are copied into).
 * `shape` says how records are delimited (mitm's by default); `start` is the file offset of
 * the first byte of `chunks` (after a header the caller read).
 */
export async function* frameFlowBatches(
  chunks: AsyncIterable<Buffer>,
  file: string,
  knownSize?: number,
  pool?: ChunkPool,
  shape: RecordShape = MITM_RECORDS,
  start = 0,
): AsyncGenerator<RawFlow[]> {
  const framer = new FlowFramer(file, knownSize, pool, shape, start);
  const it = chunks[Symbol.asyncIterator]();
  try {
    for (;;) {
      const batch: RawFlow[] = [];
      const damage = framer.frameInto(batch);
      if (batch.length) yield batch; // with damage: every whole flow before it
      if (damage) throw damage;
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
