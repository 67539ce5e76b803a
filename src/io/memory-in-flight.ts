/**
 * Memory that a write in progress still reads: an output file marks the buffers of each
 * write while it runs, and a reader recycling its buffers takes none of them until it is done.
 * This lets an output write a batch of flows straight from the read buffers while the reader
 * goes on framing the next batch.
 */

const writing = new Map<ArrayBufferLike, number>();

/** Marks the memory of `slices` as read by a write that has started. */
export function markWriting(slices: readonly Uint8Array[]): void {
  for (const s of slices) writing.set(s.buffer, (writing.get(s.buffer) ?? 0) + 1);
}

/** The write that read `slices` is done. */
export function unmarkWriting(slices: readonly Uint8Array[]): void {
  for (const s of slices) {
    const n = writing.get(s.buffer)! - 1;
    if (n === 0) writing.delete(s.buffer);
    else writing.set(s.buffer, n);
  }
}

/** True while some write still reads `memory`. */
export function isBeingWritten(memory: ArrayBufferLike): boolean {
  return writing.has(memory);
}
