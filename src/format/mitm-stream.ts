/**
 * Frames a mitm flow file (a plain concatenation of top-level tnetstring dicts) into one
 * record per flow, reading in chunks: memory stays at about one chunk plus the largest flow.
 * Nothing here parses a flow's contents; see flow-record.ts for that.
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

const MAX_PREFIX_DIGITS = 12; // mitmproxy refuses longer top-level length prefixes
const COLON = 0x3a;
const DICT_TAG = 0x7d;

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
 */
export async function* frameFlowBatches(
  chunks: AsyncIterable<Buffer>,
  file: string,
  knownSize?: number,
  release?: (chunk: Buffer) => void,
): AsyncGenerator<RawFlow[]> {
  let buf: Buffer = Buffer.alloc(0); // unconsumed bytes, starting at file offset `base`
  let base = 0;
  let index = 0;
  const it = chunks[Symbol.asyncIterator]();
  let eof = false;

  /** Chunks read ahead of `buf` (only while a flow spans them). */
  const ahead: Buffer[] = [];
  let aheadBytes = 0;
  /** Chunks passed over that flows of the batch being made still view. */
  const passed: Buffer[] = [];
  const releasePassed = (): void => {
    if (release) for (const chunk of passed) release(chunk);
    passed.length = 0;
  };

  /**
   * Makes `buf` hold at least `need` bytes (fewer only at the end of the input). Only the
   * bytes needed are copied together; the rest of the last chunk stays a view.
   */
  const fill = async (need: number): Promise<void> => {
    if (buf.length >= need) return;
    while (buf.length + aheadBytes < need && !eof) {
      const r = await it.next();
      if (r.done) eof = true;
      else {
        ahead.push(r.value);
        aheadBytes += r.value.length;
      }
    }
    if (ahead.length === 0) return;
    // Filling comes after the batch was handed out: what `buf` dropped, no flow views.
    if (buf.length === 0 && ahead[0]!.length >= need) {
      release?.(buf);
      buf = ahead.shift()!;
      aheadBytes -= buf.length;
      return;
    }
    const size = Math.min(need, buf.length + aheadBytes);
    const joined = Buffer.allocUnsafe(size);
    buf.copy(joined, 0);
    release?.(buf);
    let at = buf.length;
    while (at < size) {
      const chunk = ahead[0]!;
      const take = Math.min(chunk.length, size - at);
      chunk.copy(joined, at, 0, take);
      at += take;
      aheadBytes -= take;
      if (take === chunk.length) {
        ahead.shift();
        release?.(chunk);
      } else ahead[0] = chunk.subarray(take);
    }
    buf = joined;
  };

  /** Moves on past a consumed flow, back onto the read-ahead chunks when `buf` is used up. */
  const consume = (n: number): void => {
    buf = buf.subarray(n);
    if (buf.length === 0 && ahead.length) {
      passed.push(buf);
      buf = ahead.shift()!;
      aheadBytes -= buf.length;
    }
  };

  /** True when making `buf` hold `need` bytes takes more input (or joining read-ahead chunks). */
  const mustFill = (need: number): boolean => buf.length < need && (!eof || ahead.length > 0);

  const fail = (code: "E_FLOW_TRUNCATED" | "E_FLOW_CORRUPT", at: number, detail: string): never => {
    throw new FlowReadError(code, file, at, index, detail);
  };

  try {
    yield* frameLoop();
  } finally {
    await it.return?.(); // closes the file when the consumer stops early
  }

  async function* frameLoop(): AsyncGenerator<RawFlow[]> {
    let batch: RawFlow[] = [];
    try {
      for (;;) {
        if (mustFill(MAX_PREFIX_DIGITS + 1)) {
          if (batch.length) yield batch;
          batch = [];
          releasePassed();
          await fill(MAX_PREFIX_DIGITS + 1);
        }
        if (buf.length === 0) break; // clean end of file: the only normal way out
        let len = 0;
        let i = 0;
        for (; i < buf.length; i++) {
          const c = buf[i]!;
          if (c === COLON) break;
          if (c < 0x30 || c > 0x39)
            fail(
              "E_FLOW_CORRUPT",
              base + i,
              i === 0 && index === 0 ? "not a mitmproxy flow file" : "invalid length prefix",
            );
          if (i >= MAX_PREFIX_DIGITS) fail("E_FLOW_CORRUPT", base, "absurdly large length prefix");
          len = len * 10 + (c - 0x30);
        }
        if (i === buf.length) fail("E_FLOW_TRUNCATED", base, "file ends inside a length prefix");
        if (i === 0) fail("E_FLOW_CORRUPT", base, "empty length prefix");
        const total = i + 1 + len + 1; // prefix, ':', payload, tag
        if (knownSize !== undefined && base + total > knownSize)
          fail(
            "E_FLOW_TRUNCATED",
            base,
            `flow of ${len} bytes runs past the end of the file (${knownSize - base - i - 1} bytes left)`,
          );
        if (mustFill(total)) {
          if (batch.length) yield batch;
          batch = [];
          releasePassed();
          await fill(total);
        }
        if (buf.length < total) fail("E_FLOW_TRUNCATED", base, `flow of ${len} bytes is cut off by the end of the input`);
        if (buf[total - 1] !== DICT_TAG) fail("E_FLOW_CORRUPT", base, "top-level element is not a dict");
        batch.push({ bytes: buf.subarray(0, total), offset: base, index });
        consume(total);
        base += total;
        index++;
      }
    } catch (e) {
      if (batch.length) yield batch; // every whole flow before the damage
      throw e;
    }
    if (batch.length) yield batch;
  }
}
