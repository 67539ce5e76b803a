/**
 * Opening inputs (a path or `-` for stdin) as chunk streams, and telling their format
 * from the first bytes, never from the file name.
 */
import { closeSync, createReadStream, openSync, read } from "node:fs";
import { stat } from "node:fs/promises";
import { InputError } from "../errors.js";

export type InputFormat = "mitm" | "har" | "msgpack";

/** An opened input: its display name, its bytes in chunks, and its size when known. */
export interface FlowInput {
  name: string;
  format: InputFormat;
  chunks: AsyncIterable<Buffer>;
  size?: number;
}

const CHUNK_SIZE = 512 << 10;

/**
 * Reads a regular file in large chunks, one read always ahead: while the caller works on a
 * chunk, the next is read by libuv's thread pool on another core, so the copying (and the
 * page faults of fresh memory) cost no time on this thread. Each chunk is a fresh Buffer
 * because flows keep views into it. Waiting for a chunk also gives the event loop its turn,
 * so signals (Ctrl-C), timers and the progress line are served between chunks.
 */
async function* readFileChunks(path: string): AsyncGenerator<Buffer> {
  // a plain descriptor, not a FileHandle: an input left unfinished (sniffed, then skipped)
  // must not end in garbage-collection warnings
  const fd = openSync(path, "r");
  let position = 0;
  const readNext = async (): Promise<Buffer> => {
    const buf = Buffer.allocUnsafe(CHUNK_SIZE);
    const bytesRead = await readAt(fd, buf, position);
    position += bytesRead;
    return bytesRead === CHUNK_SIZE ? buf : buf.subarray(0, bytesRead);
  };
  let ahead = readNext();
  try {
    for (;;) {
      const chunk = await ahead;
      if (chunk.length === 0) return;
      ahead = readNext();
      yield chunk;
    }
  } finally {
    await ahead.catch(() => undefined); // never close the descriptor under a running read
    closeSync(fd);
  }
}

/** read(2) at `position` into the whole of `buf`, in libuv's thread pool. */
function readAt(fd: number, buf: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    read(fd, buf, 0, buf.length, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

/** Magic that opens reflow's own msgpack flow files (see msgpack format). */
export const MSGPACK_MAGIC = Buffer.from("REFLOW-MSGPACK\n", "latin1");

/** The format of a stream that starts with `head`; an empty input counts as mitm (0 flows). */
export function detectFormat(head: Buffer): InputFormat | null {
  if (head.length === 0) return "mitm";
  const c = head[0]!;
  if (c >= 0x30 && c <= 0x39) return "mitm";
  if (head.subarray(0, MSGPACK_MAGIC.length).equals(MSGPACK_MAGIC)) return "msgpack";
  let i = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0; // UTF-8 BOM
  while (i < head.length && (head[i] === 0x20 || head[i] === 0x0a || head[i] === 0x0d || head[i] === 0x09)) i++;
  if (head[i] === 0x7b) return "har";
  return null;
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

/** Opens `path` (or stdin for `-`) and sniffs its format. */
export async function openInput(path: string): Promise<FlowInput> {
  let stream: AsyncIterable<Buffer>;
  let size: number | undefined;
  const name = path === "-" ? "<stdin>" : path;
  if (path === "-") {
    stream = process.stdin;
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
    stream = size !== undefined ? readFileChunks(path) : createReadStream(path, { highWaterMark: CHUNK_SIZE });
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
  if (!format)
    throw new InputError("E_FORMAT_UNKNOWN", name, "not a flow file (neither mitmproxy flows, HAR nor reflow msgpack)");
  return { name, format, chunks: prepend(first, it), size };
}
