/**
 * Opening inputs (a path or `-` for stdin) as chunk streams, and telling their format
 * from the first bytes, never from the file name.
 */
import { closeSync, createReadStream, openSync, read } from "node:fs";
import { stat } from "node:fs/promises";
import { InputError } from "../errors.js";
import type { ChunkPool } from "../format/flow-framer.js";
import { type FlowFormat, detectFormat } from "../format/flow-formats.js";
import { isBeingWritten } from "./memory-in-flight.js";

/** An input's format, told from its first bytes. */
export type InputFormat = FlowFormat;

/** An opened input: its display name, its bytes in chunks, and its size when known. */
export interface FlowInput {
  name: string;
  format: InputFormat;
  chunks: AsyncIterable<Buffer>;
  size?: number;
}

/**
 * Fresh chunks: 512 KiB, one read ahead. Flows view their chunk, so a chunk lives until the
 * garbage collector has freed every flow made from it; larger chunks or more reads in flight
 * raised the peak memory of a conversion to v21 from 105 to 145 MB.
 */
const FRESH_CHUNK = 512 << 10;
const FRESH_READS_AHEAD = 1;

/**
 * Recycled chunks: 1 MiB, two reads ahead. A quarter of the corpus's bytes are in flows of
 * 100–400 KB, and a flow that spans two chunks is copied out whole; larger chunks fall out
 * of the CPU caches before they are read. Two reads keep the thread pool busy across the
 * moment one finishes and the next is asked for (a filter pass over 168 MB waits ~25 ms less).
 */
const RECYCLED_CHUNK = 1024 << 10;
const RECYCLED_READS_AHEAD = 2;

/**
 * Read buffers handed back once no flow views them, for the next reads. Fresh memory costs a
 * page fault per 4 KiB on first touch: reading 168 MB into fresh buffers takes ~2.5× as long
 * as reading it into a few reused ones. Only a reader whose flows are dropped batch by batch
 * may recycle (`show`, `convert`); flows kept for later (a script's, diff's) keep their chunks.
 */
export class ChunkRecycler implements ChunkPool {
  private readonly spare: Buffer[] = [];
  /** the chunks this recycler made: nothing else (a joined buffer, Node's pool) is taken back */
  private readonly own = new WeakSet<ArrayBuffer>();
  private enabled = true;

  /** A buffer to read into: a spare one when there is one (a fresh one once stopped). */
  take(): Buffer {
    if (!this.enabled) return Buffer.allocUnsafe(FRESH_CHUNK);
    // a spare that an output still writes from (flows written from their read buffers) waits
    for (let i = this.spare.length - 1; i >= 0; i--)
      if (!isBeingWritten(this.spare[i]!.buffer)) return this.spare.splice(i, 1)[0]!;
    const buf = Buffer.allocUnsafeSlow(RECYCLED_CHUNK); // its own memory, never Node's shared pool
    this.own.add(buf.buffer as ArrayBuffer);
    return buf;
  }

  /**
   * A chunk to copy a flow that spans chunks into, when it fits one (see ChunkPool): memory
   * already touched, where a fresh buffer of that size costs a page fault per 4 KiB.
   */
  lend(size: number): Buffer | undefined {
    return this.enabled && size <= RECYCLED_CHUNK ? this.take() : undefined;
  }

  /** Takes back a chunk (or a view into one) that no flow views any more. */
  give(chunk: Buffer): void {
    const memory = chunk.buffer as ArrayBuffer;
    if (this.enabled && this.own.has(memory)) this.spare.push(Buffer.from(memory, 0, RECYCLED_CHUNK));
  }

  /** From now on nothing is taken back: something keeps flows beyond their batch. */
  stop(): void {
    this.enabled = false;
    this.spare.length = 0;
  }
}

/**
 * Reads a regular file in large chunks, one or two reads always ahead: while the caller
 * works on a chunk, the next are read by libuv's thread pool on another core, so the copying
 * costs no time on this thread. Flows keep views into a chunk, so each is a fresh Buffer unless a
 * `recycler` hands back one no flow views any more. Waiting for a chunk also gives the event
 * loop its turn, so signals (Ctrl-C), timers and the progress line are served between chunks.
 */
async function* readFileChunks(path: string, recycler?: ChunkRecycler): AsyncGenerator<Buffer> {
  // a plain descriptor, not a FileHandle: an input left unfinished (sniffed, then skipped)
  // must not end in garbage-collection warnings
  const fd = openSync(path, "r");
  let position = 0;
  const readNext = async (): Promise<Buffer> => {
    const buf = recycler ? recycler.take() : Buffer.allocUnsafe(FRESH_CHUNK);
    const at = position; // reads run side by side: each takes its place in the file now
    position += buf.length;
    let filled = 0;
    while (filled < buf.length) {
      const n = await readAt(fd, buf, filled, at + filled);
      if (n === 0) break;
      filled += n;
    }
    return filled === buf.length ? buf : buf.subarray(0, filled);
  };
  const ahead: Promise<Buffer>[] = [];
  for (let i = 0; i < (recycler ? RECYCLED_READS_AHEAD : FRESH_READS_AHEAD); i++) ahead.push(readNext());
  try {
    for (;;) {
      const chunk = await ahead.shift()!;
      if (chunk.length === 0) return;
      ahead.push(readNext());
      yield chunk;
    }
  } finally {
    for (const a of ahead) await a.catch(() => undefined); // never close the descriptor under a running read
    closeSync(fd);
  }
}

/** read(2) at `position` into the whole of `buf`, in libuv's thread pool. */
function readAt(fd: number, buf: Buffer, offset: number, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buf, offset, buf.length - offset, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

/** Re-yields `first` ahead of the rest of an iterator that has already produced it. */
async function* prepend(first: Buffer | undefined, rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  if (first && first.length) yield first;
  for (;;) {
    const r = await rest.next();
    if (r.done) return;
    yield r.value;
  }
}

/**
 * Stdin's chunks kept while it is peeked at (to choose an output version before writing):
 * the real read gets them again, then the rest. Stdin cannot be read twice otherwise.
 */
const stdinKept: Buffer[] = [];
let stdinSource: AsyncIterator<Buffer> | undefined;
let stdinKeeping = false;

/** Stdin's chunks: those kept by a peek first, then the rest (never ending stdin early). */
async function* stdinChunks(): AsyncGenerator<Buffer> {
  while (stdinKept.length && !stdinKeeping) yield stdinKept.shift()!;
  for (let i = 0; stdinKeeping && i < stdinKept.length; i++) yield stdinKept[i]!;
  stdinSource ??= (process.stdin as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  for (;;) {
    // next() by hand, not for-await: a reader that stops early must not close stdin
    const r = await stdinSource.next();
    if (r.done) return;
    if (stdinKeeping) stdinKept.push(r.value);
    yield r.value;
  }
}

/**
 * Runs `peek`, which may read the start of stdin (`-`) and stop; a later read of stdin gets
 * every byte again, from the start.
 */
export async function peekingAtStdin<T>(peek: () => Promise<T>): Promise<T> {
  stdinKeeping = true;
  try {
    return await peek();
  } finally {
    stdinKeeping = false;
  }
}

/** Why an input is not read, with the one likely cause its first bytes show: a compressed capture. */
function notAFlowFile(first: Buffer | undefined): string {
  const starts = (...bytes: number[]): boolean => first !== undefined && bytes.every((b, i) => first[i] === b);
  const compression = starts(0x1f, 0x8b) ? "gzip" : starts(0x28, 0xb5, 0x2f, 0xfd) ? "zstd" : null;
  if (compression) return `${compression}-compressed: decompress it first (${compression} -dc FILE | reflow ... -)`;
  return "not a flow file (neither mitmproxy flows, reflow msgpack, HAR nor JSON Lines)";
}

/**
 * Opens `path` (or stdin for `-`) and sniffs its format. With a `recycler`, a file is read
 * into the chunks it hands back (see ChunkRecycler).
 */
export async function openInput(path: string, recycler?: ChunkRecycler): Promise<FlowInput> {
  let stream: AsyncIterable<Buffer>;
  let size: number | undefined;
  const name = path === "-" ? "<stdin>" : path;
  if (path === "-") {
    stream = stdinChunks();
  } else {
    try {
      const st = await stat(path);
      if (st.isDirectory()) throw new InputError("E_INPUT_UNREADABLE", path, "is a directory");
      if (st.isFile()) size = st.size;
    } catch (e) {
      if (e instanceof InputError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "ENOENT") throw new InputError("E_INPUT_MISSING", path, "no such file");
      throw new InputError("E_INPUT_UNREADABLE", path, (e as Error).message);
    }
    stream = size !== undefined ? readFileChunks(path, recycler) : createReadStream(path, { highWaterMark: FRESH_CHUNK });
  }
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let first: Buffer | undefined;
  try {
    const r = await it.next();
    first = r.done ? undefined : r.value;
  } catch (e) {
    throw new InputError("E_INPUT_UNREADABLE", name, (e as Error).message);
  }
  const format = detectFormat(first ?? Buffer.alloc(0));
  if (!format) throw new InputError("E_FORMAT_UNKNOWN", name, notAFlowFile(first));
  return { name, format, chunks: prepend(first, it), size };
}
