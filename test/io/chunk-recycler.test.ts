/** The reader's buffer recycling: a buffer an output still writes from is not handed out again. */
import { describe, expect, it } from "vitest";
import { ChunkRecycler } from "../../src/io/input.js";
import { markWriting, unmarkWriting } from "../../src/io/memory-in-flight.js";

describe("ChunkRecycler", () => {
  it("hands back a given chunk, but not while a write reads it", () => {
    const recycler = new ChunkRecycler();
    const chunk = recycler.take();
    const slice = chunk.subarray(10, 20); // what a writev would hold
    markWriting([slice]);
    recycler.give(chunk);
    const other = recycler.take();
    expect(other.buffer, "a chunk being written is not reused").not.toBe(chunk.buffer);
    unmarkWriting([slice]);
    recycler.give(other);
    const again = [recycler.take(), recycler.take()].map((b) => b.buffer);
    expect(again).toContain(chunk.buffer); // free again once the write is done
  });
});
