/**
 * Frames a flow file into one record per flow, synchronously, from chunks pushed in as they
 * are read: memory stays at about one chunk plus the largest flow. A mitm file is a plain
 * concatenation of top-level tnetstring dicts; a reflow msgpack file's records have a
 * 4-byte length prefix (its RecordShape is in msgpack-codec.ts). Nothing here parses a
 * flow's contents (see flow-record.ts); reading the chunks is mitm-stream.ts's job.
 */
import { FlowReadError } from "../errors.js";

/** One flow's bytes as they stand in the file. */
export interface RawFlow {
  /** the whole top-level element, length prefix to closing `}` */
  bytes: Buffer;
  /** byte offset of the element in its file */
  offset: number;
  /** 0-based position of the flow in its file */
  index: number;
}

/** Where a record's framing is damaged: the error code, the offset from the record's start, why. */
export type FramingFailure = (code: "E_FLOW_TRUNCATED" | "E_FLOW_CORRUPT", at: number, detail: string) => never;

/** How one kind of flow file marks where each record ends. */
export interface RecordShape {
  /** bytes that always hold a record's length prefix (fewer only at the end of the input) */
  readonly prefixNeed: number;
  /** bytes that follow the payload */
  readonly suffix: number;
  /** The prefix of the record at `buf[at]`: its own length and the payload's. */
  prefix(buf: Buffer, at: number, first: boolean, fail: FramingFailure): { prefix: number; payload: number };
  /** Why the whole record at `buf[at]`, `total` bytes long, is damaged, or null. */
  damage(buf: Buffer, at: number, total: number): string | null;
}

/**
 * Where a reader's chunks go back to: `give` takes a chunk back once no flow views it;
 * `lend` hands out a buffer of at least `size` bytes to copy a flow that spans chunks into
 * (or nothing: the framer allocates one), taken back through `give` like a chunk.
 */
export interface ChunkPool {
  give(chunk: Buffer): void;
  lend?(size: number): Buffer | undefined;
}

const MAX_PREFIX_DIGITS = 12; // mitmproxy refuses longer top-level length prefixes
const COLON = 0x3a;
const DICT_TAG = 0x7d;

/** mitm files: a decimal length, a colon, the dict's payload, its `}` tag. */
export const MITM_RECORDS: RecordShape = {
  prefixNeed: MAX_PREFIX_DIGITS + 1,
  suffix: 1,
  prefix(buf, at, first, fail) {
    let len = 0;
    let i = at;
    for (; i < buf.length; i++) {
      const c = buf[i]!;
      if (c === COLON) break;
      if (c < 0x30 || c > 0x39)
        fail("E_FLOW_CORRUPT", i - at, i === at && first ? "not a mitmproxy flow file" : "invalid length prefix");
      if (i - at >= MAX_PREFIX_DIGITS) fail("E_FLOW_CORRUPT", 0, "absurdly large length prefix");
      len = len * 10 + (c - 0x30);
    }
    if (i === buf.length) fail("E_FLOW_TRUNCATED", 0, "file ends inside a length prefix");
    if (i === at) fail("E_FLOW_CORRUPT", 0, "empty length prefix");
    return { prefix: i + 1 - at, payload: len };
  },
  damage: (buf, at, total) => (buf[at + total - 1] !== DICT_TAG ? "top-level element is not a dict" : null),
};

/**
 * The framing state of one input. Use: `next()` until it returns null; then, if not `done`,
 * hand out the flows framed so far, call `releasePassed()`, `push()` chunks (or `end()`) until
 * `fill()` returns true, and go on. Flows view the chunks: only the bytes of a flow that
 * spans chunks are copied together.
 *
 * With a `pool`, every chunk is given back to it once no flow framed after the last
 * `releasePassed()` views it any more; a pool with `lend` also lends the buffers that flows spanning
 * chunks are copied into (memory already mapped, where a fresh buffer costs a page fault per
 * 4 KiB).
 */
export class FlowFramer {
  /** the chunk being framed: its bytes from `pos` on are unconsumed and start at file offset `base` */
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private base: number;
  private index = 0;
  private eof = false;
  /** chunks pushed ahead of `buf` (only while a flow spans them) */
  private readonly ahead: Buffer[] = [];
  private aheadBytes = 0;
  /** chunks passed over that flows framed since the last releasePassed() still view */
  private readonly passed: Buffer[] = [];
  /** bytes `buf` must hold from `pos` before the next flow can be framed */
  private need = 0;
  /** true once the input ended cleanly after a whole flow */
  done = false;

  constructor(
    private readonly file: string,
    /** the file size, when there is one: a length prefix that overruns it is reported before anything is allocated */
    private readonly knownSize?: number,
    private readonly pool?: ChunkPool,
    private readonly shape: RecordShape = MITM_RECORDS,
    /** the file offset of the first byte pushed (after a header the caller read) */
    start = 0,
  ) {
    this.base = start;
  }

  /** Adds a chunk read from the input. */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return; // nothing to frame, and an empty chunk ahead would never be used up
    this.ahead.push(chunk);
    this.aheadBytes += chunk.length;
  }

  /** Marks the end of the input. */
  end(): void {
    this.eof = true;
  }

  /** Hands back the chunks passed over: call it once the flows framed so far are no longer used. */
  releasePassed(): void {
    if (this.pool) for (const chunk of this.passed) this.pool.give(chunk);
    this.passed.length = 0;
  }

  /**
   * Makes the next flow's bytes one buffer, once enough input was pushed: false while more is
   * needed. Only the bytes needed are copied together; the rest of the last chunk stays a view.
   * Call it only after the flows framed so far were handed out: the buffer it drops is released.
   */
  fill(): boolean {
    const { need, pos } = this;
    const left = this.buf.length - pos;
    if (left >= need) return true;
    if (left + this.aheadBytes < need && !this.eof) return false;
    if (this.ahead.length === 0) return true;
    if (left === 0 && this.ahead[0]!.length >= need) {
      this.pool?.give(this.buf);
      this.buf = this.ahead.shift()!;
      this.pos = 0;
      this.aheadBytes -= this.buf.length;
      return true;
    }
    const size = Math.min(need, left + this.aheadBytes);
    const lent = this.pool?.lend?.(size);
    const joined = lent ? lent.subarray(0, size) : Buffer.allocUnsafe(size);
    this.buf.copy(joined, 0, pos);
    this.pool?.give(this.buf);
    let at = left;
    while (at < size) {
      const chunk = this.ahead[0]!;
      const take = Math.min(chunk.length, size - at);
      chunk.copy(joined, at, 0, take);
      at += take;
      this.aheadBytes -= take;
      if (take === chunk.length) {
        this.ahead.shift();
        this.pool?.give(chunk);
      } else this.ahead[0] = chunk.subarray(take);
    }
    this.buf = joined;
    this.pos = 0;
    return true;
  }

  /**
   * Adds every whole flow pushed so far to `into`, in order, and returns the damage met after
   * them (a FlowReadError), or null. Then, unless `done`, more must be filled. The loop over
   * the flows is here, not in the async reader around it, so that the optimizing compiler
   * compiles it once, small, and not again inside every async loop that drives it.
   */
  frameInto(into: RawFlow[]): unknown {
    try {
      for (let flow = this.next(); flow !== null; flow = this.next()) into.push(flow);
    } catch (e) {
      return e;
    }
    return null;
  }

  /**
   * The next whole flow, or null when the input ended (`done`) or more must be filled first.
   * Throws FlowReadError on damage.
   */
  next(): RawFlow | null {
    const more = !this.eof || this.ahead.length > 0;
    const { buf, pos, shape } = this;
    const left = buf.length - pos;
    if (left < shape.prefixNeed && more) return this.wait(shape.prefixNeed);
    if (left === 0) {
      this.done = true; // clean end of file: the only normal way out
      return null;
    }
    const { prefix, payload: len } = shape.prefix(buf, pos, this.index === 0, this.failAt);
    const total = prefix + len + shape.suffix;
    if (this.knownSize !== undefined && this.base + total > this.knownSize)
      this.fail(
        "E_FLOW_TRUNCATED",
        this.base,
        `flow of ${len} bytes runs past the end of the file (${this.knownSize - this.base - prefix} bytes left)`,
      );
    if (left < total && more) return this.wait(total);
    if (left < total) this.fail("E_FLOW_TRUNCATED", this.base, `flow of ${len} bytes is cut off by the end of the input`);
    const damage = shape.damage(buf, pos, total);
    if (damage) this.fail("E_FLOW_CORRUPT", this.base, damage);
    const flow: RawFlow = { bytes: buf.subarray(pos, pos + total), offset: this.base, index: this.index };
    // move on past the flow, onto the chunks pushed ahead when `buf` is used up
    if (total === left && this.ahead.length) {
      this.passed.push(buf);
      this.buf = this.ahead.shift()!;
      this.pos = 0;
      this.aheadBytes -= this.buf.length;
    } else this.pos = pos + total;
    this.base += total;
    this.index++;
    return flow;
  }

  /** Damage at `at` bytes into the record being framed. */
  private readonly failAt: FramingFailure = (code, at, detail) => this.fail(code, this.base + at, detail);

  private wait(need: number): null {
    this.need = need;
    return null;
  }

  private fail(code: "E_FLOW_TRUNCATED" | "E_FLOW_CORRUPT", at: number, detail: string): never {
    throw new FlowReadError(code, this.file, at, this.index, detail);
  }
}
