/**
 * HTTP content codings (the Content-Encoding header), as mitmproxy's `net/encoding.py` in
 * its newest form: identity/none, gzip, deflate (and deflateraw), br and zstd. Encoders use
 * mitmproxy's fastest settings (gzip level 1 with mtime 0, deflate level 1, br quality 0,
 * zstd level 1). All synchronous and pure.
 */
import zlib from "node:zlib";
import { ZstdTooLarge, zstdCompress, zstdDecompress } from "./zstd-codec.js";
import { asBuffer } from "./bytes.js";
import type { BodyErrorCode } from "../errors.js";

/** A body that cannot be decoded or encoded with its content coding (mitmproxy's ValueError). */
export class ContentEncodingError extends Error {
  readonly code = "E_CONTENT_ENCODING" satisfies BodyErrorCode;
  constructor(
    readonly encoding: string,
    message: string,
  ) {
    super(message);
    this.name = "ContentEncodingError";
  }
}

/** A body that would decode to more bytes than its reader allows (a decompression bomb, for a display). */
export class ContentTooLargeError extends ContentEncodingError {
  constructor(
    encoding: string,
    readonly limit: number,
  ) {
    super(encoding, `${encoding} content decodes to more than ${limit} bytes`);
    this.name = "ContentTooLargeError";
  }
}

/** Decodes `data`, or encodes it; a decoder stops (throws) once more than `limit` bytes came out. */
type Codec = (data: Buffer, limit: number) => Buffer;

/** zlib's options for an output limit: none (Node's own) when there is no limit. */
const capped = (limit: number): { maxOutputLength?: number } => (limit === Infinity ? {} : { maxOutputLength: limit });

const EMPTY = Buffer.alloc(0);
const SYNC = { finishFlush: zlib.constants.Z_SYNC_FLUSH };

/**
 * gzip as newest mitmproxy decodes it: zlib with auto-detection of a gzip or zlib header
 * (`wbits=47`), first gzip member only, and no complaint about a cut-off end (a
 * `decompressobj` is never asked whether the stream finished).
 */
function decodeGzip(data: Buffer, limit: number): Buffer {
  if (!data.length) return EMPTY;
  if (data[0] === 0x1f && data[1] === 0x8b) return gunzipFirstMember(data, limit);
  return zlib.inflateSync(data, { ...SYNC, ...capped(limit) });
}

const FHCRC = 0x02;
const FEXTRA = 0x04;
const FNAME = 0x08;
const FCOMMENT = 0x10;

/**
 * One gzip member. Node's gunzip would go on into a following member; Python's zlib stops
 * after the first, so the header is read here and the deflate stream inflated raw.
 */
function gunzipFirstMember(data: Buffer, limit: number): Buffer {
  if (data.length < 10) return EMPTY; // header not complete: zlib has produced nothing yet
  if (data[2] !== 8) throw new Error("unknown compression method");
  const flags = data[3]!;
  if (flags & 0xe0) throw new Error("unknown header flags set");
  let pos = 10;
  if (flags & FEXTRA) {
    if (pos + 2 > data.length) return EMPTY;
    pos += 2 + data.readUInt16LE(pos);
  }
  const skipZeroTerminated = (): void => {
    const end = data.indexOf(0, pos);
    pos = end < 0 ? data.length + 1 : end + 1;
  };
  if (flags & FNAME) skipZeroTerminated();
  if (flags & FCOMMENT) skipZeroTerminated();
  if (flags & FHCRC) {
    if (pos + 2 <= data.length && (zlib.crc32(data.subarray(0, pos)) & 0xffff) !== data.readUInt16LE(pos))
      throw new Error("header crc mismatch");
    pos += 2;
  }
  if (pos >= data.length) return EMPTY;
  const options = { ...SYNC, info: true, chunkSize: outputChunkSize(data), ...capped(limit) };
  const { buffer, engine } = zlib.inflateRawSync(data.subarray(pos), options) as unknown as {
    buffer: Buffer;
    engine: { bytesWritten: number };
  };
  const trailer = pos + engine.bytesWritten;
  if (trailer + 8 <= data.length) {
    if (data.readUInt32LE(trailer) !== zlib.crc32(buffer)) throw new Error("incorrect data check");
    if (data.readUInt32LE(trailer + 4) !== buffer.length % 2 ** 32) throw new Error("incorrect length check");
  }
  return buffer;
}

/** Largest output chunk sized from a gzip trailer: the size there comes from the file, so it is only a hint. */
const MAX_HINTED_CHUNK = 1 << 20;
/** Deflate's greatest expansion (RFC 1951 blocks): a trailer claiming more is not believed. */
const MAX_DEFLATE_RATIO = 1032;

/**
 * The output chunk for inflating a gzip member: the decoded size its trailer states, plus one
 * byte (so that a member that holds what it says fills one chunk: no second chunk and no
 * concatenation), instead of zlib's 16 KiB whatever the size. The bytes produced are the
 * same for any chunk size; a wrong or missing trailer only costs more chunks.
 */
function outputChunkSize(data: Buffer): number {
  const stated = data.readUInt32LE(data.length - 4);
  const possible = Math.min(data.length * MAX_DEFLATE_RATIO, MAX_HINTED_CHUNK);
  return Math.max(zlib.constants.Z_MIN_CHUNK, Math.min(stated + 1, possible));
}

function encodeGzip(data: Buffer): Buffer {
  const out = zlib.gzipSync(data, { level: 1 }); // zlib writes mtime 0
  out[9] = 0xff; // OS "unknown", as Python's gzip module writes (zlib says 3, Unix)
  return out;
}

/** deflate: zlib-wrapped, else raw deflate (some servers send it without the wrapper). */
function decodeDeflate(data: Buffer, limit: number): Buffer {
  if (!data.length) return EMPTY;
  try {
    return zlib.inflateSync(data, capped(limit));
  } catch (e) {
    if (tooLarge(e)) throw e;
    return zlib.inflateRawSync(data, capped(limit));
  }
}

function encodeDeflate(data: Buffer): Buffer {
  return zlib.deflateSync(data, { level: 1 });
}

function decodeBrotli(data: Buffer, limit: number): Buffer {
  if (!data.length) return EMPTY;
  // `info` is accepted by every zlib *Sync function; @types/node only declares it for some.
  const { buffer, engine } = zlib.brotliDecompressSync(data, { info: true, ...capped(limit) } as zlib.BrotliOptions) as unknown as {
    buffer: Buffer;
    engine: { bytesWritten: number };
  };
  // The brotli module refuses bytes after the end of the stream; Node would ignore them.
  if (engine.bytesWritten !== data.length) throw new Error("unexpected data after the end of the brotli stream");
  return buffer;
}

function encodeBrotli(data: Buffer): Buffer {
  return zlib.brotliCompressSync(data, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 0 } });
}

function decodeZstd(data: Buffer, limit: number): Buffer {
  return data.length ? zstdDecompress(data, limit) : EMPTY;
}

/** True for the failure of a decoder that reached its output limit. */
function tooLarge(e: unknown): boolean {
  return e instanceof ZstdTooLarge || (e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE";
}

const identity: Codec = (data) => data;

const DECODERS: Readonly<Record<string, Codec>> = {
  none: identity,
  identity,
  gzip: decodeGzip,
  deflate: decodeDeflate,
  deflateraw: decodeDeflate,
  br: decodeBrotli,
  zstd: decodeZstd,
};

const ENCODERS: Readonly<Record<string, Codec>> = {
  none: identity,
  identity,
  gzip: encodeGzip,
  deflate: encodeDeflate,
  deflateraw: encodeDeflate,
  br: encodeBrotli,
  zstd: (data) => zstdCompress(data, 1),
};

/** True for a Content-Encoding value reflow can decode and encode (case-insensitive). */
export function isKnownContentEncoding(encoding: string): boolean {
  return Object.hasOwn(DECODERS, encoding.toLowerCase());
}

/**
 * mitmproxy keeps the last (encoded, decoded) pair of a compressing codec, so that
 * `content = content` (or a no-op replace) stores the original compressed bytes again
 * instead of re-compressing them differently. Same here, compared by value on private copies.
 */
let lastPair: { encoding: string; encoded: Buffer; decoded: Buffer } | undefined;

function rememberPair(encoding: string, encoded: Buffer, decoded: Buffer): void {
  if (encoding === "identity" || encoding === "none") return;
  lastPair = { encoding, encoded: Buffer.from(encoded), decoded: Buffer.from(decoded) };
}

/**
 * Decodes a body with a Content-Encoding value; throws ContentEncodingError on failure or an
 * unknown coding. `remember` false is for a read that only shows the body (an export): the
 * pair is then not copied for a later re-encoding that will not come. With a `limit`, a body
 * that decodes to more bytes throws ContentTooLargeError once that many came out.
 */
export function decodeContent(data: Uint8Array, encoding: string, remember = true, limit = Infinity): Buffer {
  const enc = encoding.toLowerCase();
  const buf = asBuffer(data);
  const codec = DECODERS[enc];
  if (!Object.hasOwn(DECODERS, enc) || !codec)
    throw new ContentEncodingError(encoding, `unknown content encoding ${JSON.stringify(encoding)}`);
  if (lastPair && lastPair.encoding === enc && lastPair.encoded.equals(buf)) {
    if (lastPair.decoded.length > limit) throw new ContentTooLargeError(enc, limit);
    return Buffer.from(lastPair.decoded);
  }
  try {
    const decoded = codec(buf, limit);
    if (remember) rememberPair(enc, buf, decoded);
    return decoded;
  } catch (e) {
    if (tooLarge(e)) throw new ContentTooLargeError(enc, limit);
    throw new ContentEncodingError(encoding, `cannot decode ${enc} content: ${(e as Error).message}`);
  }
}

/** Encodes a body with a Content-Encoding value; throws ContentEncodingError for an unknown coding. */
export function encodeContent(data: Uint8Array, encoding: string): Buffer {
  const enc = encoding.toLowerCase();
  const buf = asBuffer(data);
  const codec = ENCODERS[enc];
  if (!Object.hasOwn(ENCODERS, enc) || !codec)
    throw new ContentEncodingError(encoding, `unknown content encoding ${JSON.stringify(encoding)}`);
  if (lastPair && lastPair.encoding === enc && lastPair.decoded.equals(buf)) return Buffer.from(lastPair.encoded);
  try {
    const encoded = codec(buf, Infinity);
    rememberPair(enc, encoded, buf);
    return encoded;
  } catch (e) {
    throw new ContentEncodingError(encoding, `cannot encode ${enc} content: ${(e as Error).message}`);
  }
}
