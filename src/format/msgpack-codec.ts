/**
 * reflow's msgpack flow files: the line `REFLOW-MSGPACK 1\n`, then one record per flow, a
 * 4-byte big-endian length and a msgpack map holding the flow's version-21 state. Every
 * state value keeps its kind: str as msgpack str, bytes as bin, ints as ints (beyond 64
 * bits as an extension), floats as float64 (integral Python floats and -0.0 as an
 * extension, so `1.0` stays a float), dicts as maps with their keys in order. So
 * mitm → msgpack → mitm is byte-identical. Appending adds records, never a second header.
 */
import { createRequire } from "node:module";
import type { Packr, Unpackr } from "msgpackr";
import { FlowReadError } from "../errors.js";
import { MSGPACK_MAGIC, MSGPACK_MAGIC_PREFIX } from "./flow-formats.js";
import type { RecordShape } from "./flow-framer.js";
import { type RawFlow, frameFlowBatches } from "./mitm-stream.js";
import { PyFloat, RawElement, type TDict, type TKey, type TValue, internedAscii, resolveDeep } from "./tnetstring.js";

/** A Python int too large for msgpack's 64 bits, kept as its decimal digits. */
class LargeInt {
  constructor(readonly digits: string) {}
}

const EXT_FLOAT = 0x46; // "F": an integral Python float (or -0.0), as float64
const EXT_LARGE_INT = 0x49; // "I": an int beyond 64 bits, as decimal digits

/** msgpackr's packer and unpacker, set up for flow state (see msgpackCodec). */
interface MsgpackCodec {
  packr: Packr;
  unpackr: Unpackr;
}

let loaded: MsgpackCodec | null = null;

/**
 * msgpackr, loaded on first use: with the native helper it looks for, loading it is ~20 ms
 * of CPU at start-up that a command reading and writing only mitm files never needs.
 */
function msgpackCodec(): MsgpackCodec {
  if (loaded) return loaded;
  const { Packr, Unpackr, addExtension } = createRequire(import.meta.url)("msgpackr") as typeof import("msgpackr");
  addExtension({
    Class: PyFloat,
    type: EXT_FLOAT,
    pack(v: PyFloat) {
      const b = Buffer.allocUnsafe(8);
      b.writeDoubleBE(v.value, 0);
      return b;
    },
    unpack(b: Uint8Array) {
      return new PyFloat(Buffer.from(b.buffer, b.byteOffset, b.byteLength).readDoubleBE(0));
    },
  });
  addExtension({
    Class: LargeInt,
    type: EXT_LARGE_INT,
    pack: (v: LargeInt) => Buffer.from(v.digits, "latin1"),
    unpack: (b: Uint8Array) => BigInt(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1")),
  });
  loaded = {
    packr: new Packr({ useRecords: false, mapsAsObjects: false, moreTypes: false, variableMapSize: true }),
    unpackr: new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: "bigint" }),
  };
  return loaded;
}

const LENGTH_BYTES = 4;
/** The length prefix of a record, before its msgpack. */
export const MSGPACK_LENGTH_BYTES = LENGTH_BYTES;
const MAX_RECORD = 0xffffffff;

/**
 * A state value as msgpackr is to write it: unparsed parts parsed, ints beyond 64 bits and
 * -0.0 (which msgpackr would write as the int 0) boxed. Containers are copied only when
 * something inside them changed.
 */
function packable(v: TValue): unknown {
  if (v instanceof RawElement) return packable(resolveDeep(v));
  switch (typeof v) {
    case "number":
      return Object.is(v, -0) ? new PyFloat(-0) : v;
    case "bigint":
      return v >= -(1n << 63n) && v < 1n << 64n ? v : new LargeInt(v.toString());
    case "object":
      break;
    default:
      return v;
  }
  if (v === null || v instanceof PyFloat || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const p = packable(v[i]!);
      if (p !== v[i]) (out ??= v.slice())[i] = p;
    }
    return out ?? v;
  }
  // a Map (a plain one, or an IndexedDict read from a mitm file: always copied, msgpackr wants plain Maps)
  const out = new Map<unknown, unknown>();
  for (const [k, value] of v) out.set(k, packable(value));
  return out;
}

/** One flow's record: the length prefix and the msgpack of its version-21 top-level dict. */
export function encodeMsgpackRecord(top: TDict): Buffer {
  const body = msgpackCodec().packr.pack(packable(top));
  if (body.length > MAX_RECORD)
    throw new RangeError(`a flow of ${body.length} bytes is too large for a msgpack record`);
  const out = Buffer.allocUnsafe(LENGTH_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, LENGTH_BYTES);
  return out;
}

/** A record's msgpack (without its prefix) as a version-21 flow dict; bytes stay views into `payload`. */
export function decodeMsgpackState(payload: Buffer): TDict {
  const v = msgpackCodec().unpackr.unpack(payload) as unknown;
  if (!(v instanceof Map)) throw new TypeError("a msgpack record that is not a map");
  return v as TDict;
}

/**
 * A flow's top-level dict read from a msgpack record, which knows where each entry stood in
 * the record and which entries may have changed since: a container (dict, list, bytes)
 * handed out by `get`, anything `set` or deleted, everything once the dict is iterated. The
 * others are written back as the bytes they were read from (MsgpackRecordWriter). The dicts
 * one level down (request, response, connections) are PackedDicts too: a script that sets a
 * response header re-encodes the response's headers, and copies its body as it was read.
 */
export class PackedDict extends Map<TKey, TValue> {
  /** where the entries decoded so far stood in `payload` (the others are still their Undecoded) */
  private spans: Map<TKey, Undecoded> | undefined;
  private readonly changed = new Set<TKey>();
  private allChanged = false;
  private payload: Buffer | undefined;
  private depth = 0;

  /**
   * Reads a record's payload (a msgpack map): the keys and where each value stands; a value
   * is decoded when first read (bytes as views into the payload).
   */
  static read(payload: Buffer, depth = 0): PackedDict {
    const dict = new PackedDict();
    dict.depth = depth;
    const header = mapHeader(payload);
    if (header === null) throw new TypeError("a msgpack record that is not a map");
    let at = header.size;
    for (let i = 0; i < header.count; i++) {
      const keyEnd = skipValue(payload, at);
      const key = (simpleValueAt(payload, at, keyEnd) ??
        msgpackCodec().unpackr.unpack(payload.subarray(at, keyEnd))) as TKey;
      const end = skipValue(payload, keyEnd);
      Map.prototype.set.call(dict, key, new Undecoded(at, keyEnd, end));
      at = end;
    }
    if (at !== payload.length) throw new TypeError("a msgpack record with bytes after its map");
    dict.payload = payload;
    return dict;
  }

  /** The value of `key`, decoded now if it was not yet. */
  private decoded(key: TKey, v: TValue | Undecoded | undefined): TValue | undefined {
    if (!(v instanceof Undecoded)) return v;
    const payload = this.payload!;
    let value = simpleValueAt(payload, v.keyEnd, v.end);
    if (value === undefined) {
      const bytes = payload.subarray(v.keyEnd, v.end);
      value =
        this.depth === 0 && mapHeader(bytes) !== null
          ? PackedDict.read(bytes, 1)
          : (msgpackCodec().unpackr.unpack(bytes) as TValue);
    }
    (this.spans ??= new Map()).set(key, v); // where it was read from, for storedEntry
    super.set(key, value);
    return value;
  }

  private decodeAll(): void {
    for (const [k, v] of super.entries()) if ((v as unknown) instanceof Undecoded) this.decoded(k, v);
  }

  override get(key: TKey): TValue | undefined {
    const v = this.decoded(key, super.get(key));
    // a nested PackedDict keeps track of its own changes
    if (typeof v === "object" && v !== null && !(v instanceof PyFloat) && !(v instanceof PackedDict))
      this.changed.add(key);
    return v;
  }

  override set(key: TKey, value: TValue): this {
    this.changed?.add(key); // undefined while Map's constructor runs
    return super.set(key, value);
  }

  override delete(key: TKey): boolean {
    this.changed.add(key);
    return super.delete(key);
  }

  override clear(): void {
    this.allChanged = true;
    super.clear();
  }

  override forEach(fn: (value: TValue, key: TKey, map: Map<TKey, TValue>) => void, thisArg?: unknown): void {
    this.allChanged = true;
    this.decodeAll();
    super.forEach(fn, thisArg);
  }

  override entries(): MapIterator<[TKey, TValue]> {
    this.allChanged = true;
    this.decodeAll();
    return super.entries();
  }

  override values(): MapIterator<TValue> {
    this.allChanged = true;
    this.decodeAll();
    return super.values();
  }

  override [Symbol.iterator](): MapIterator<[TKey, TValue]> {
    this.allChanged = true;
    this.decodeAll();
    return super.entries();
  }

  /** True when nothing in this dict (nor in the dicts it holds) can have changed since it was read. */
  untouched(): boolean {
    if (this.allChanged || this.changed.size > 0) return false;
    for (const v of super.values()) if (v instanceof PackedDict && !v.untouched()) return false;
    return true;
  }

  /** The record bytes this dict was read from. */
  get source(): Buffer | undefined {
    return this.payload;
  }

  /**
   * Where an entry stands in `source`, when its bytes can be written as read: its key's
   * (`keyOnly`), else the whole entry's, when nothing in it can have changed. Null otherwise.
   */
  storedSpan(key: TKey, keyOnly: boolean): Undecoded | null {
    if (!this.payload) return null;
    const v = super.get(key);
    if (!keyOnly) {
      if (this.changed.has(key)) return null;
      if (v instanceof PackedDict ? !v.untouched() : this.allChanged && !(v instanceof Undecoded)) return null;
    }
    return (v instanceof Undecoded ? v : this.spans?.get(key)) ?? null;
  }

  /** True when the entry was replaced or removed (not only read). */
  replaced(key: TKey): boolean {
    return this.changed.has(key);
  }

  /** An entry as it stands: a value, or an Undecoded placeholder (not a read). */
  raw(key: TKey): unknown {
    return super.get(key);
  }

  /** The keys in order, without counting as a read. */
  keysInOrder(): IterableIterator<TKey> {
    return super.keys();
  }

  /** An entry's value, without counting as a read. */
  peek(key: TKey): TValue | undefined {
    return this.decoded(key, super.get(key));
  }
}

/** Where an entry (not decoded yet, or as it was read) stands in its record: key from `start`, value from `keyEnd`. */
export class Undecoded {
  constructor(
    readonly start: number,
    readonly keyEnd: number,
    readonly end: number,
  ) {}
}

/**
 * The msgpack value from `at` to `end` when it is one read without msgpackr (whose every call
 * costs more than these): small ints, nil, booleans, float64, ASCII fixstr (the same string
 * each time: keys), bin (a view, as msgpackr gives it). Undefined for anything else.
 */
function simpleValueAt(b: Buffer, at: number, end: number): TValue | undefined {
  const c = b[at]!;
  if (c <= 0x7f) return c;
  if (c >= 0xe0) return c - 0x100;
  if ((c & 0xe0) === 0xa0) return internedAscii(b, at + 1, end);
  switch (c) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return b.subarray(at + 2, end);
    case 0xc5:
      return b.subarray(at + 3, end);
    case 0xc6:
      return b.subarray(at + 5, end);
    case 0xcb:
      return b.readDoubleBE(at + 1);
    case 0xcc:
      return b[at + 1]!;
    case 0xcd:
      return b.readUInt16BE(at + 1);
    case 0xce:
      return b.readUInt32BE(at + 1);
    case 0xd0:
      return b.readInt8(at + 1);
    case 0xd1:
      return b.readInt16BE(at + 1);
    case 0xd2:
      return b.readInt32BE(at + 1);
    default:
      return undefined;
  }
}

/** Where the msgpack value at `at` ends, without decoding it. */
export function skipValue(b: Buffer, at: number): number {
  let pending = 1; // values still to pass over
  while (pending > 0) {
    if (at >= b.length) throw new RangeError("a msgpack value cut short");
    const c = b[at]!;
    pending--;
    if (c <= 0x7f || c >= 0xe0 || c === 0xc0 || c === 0xc2 || c === 0xc3) at += 1;
    else if (c <= 0x8f) ((pending += 2 * (c & 0x0f)), (at += 1));
    else if (c <= 0x9f) ((pending += c & 0x0f), (at += 1));
    else if (c <= 0xbf) at += 1 + (c & 0x1f);
    else
      switch (c) {
        case 0xc4:
        case 0xd9:
          at += 2 + b[at + 1]!;
          break;
        case 0xc5:
        case 0xda:
          at += 3 + b.readUInt16BE(at + 1);
          break;
        case 0xc6:
        case 0xdb:
          at += 5 + b.readUInt32BE(at + 1);
          break;
        case 0xc7:
          at += 3 + b[at + 1]!;
          break;
        case 0xc8:
          at += 4 + b.readUInt16BE(at + 1);
          break;
        case 0xc9:
          at += 6 + b.readUInt32BE(at + 1);
          break;
        case 0xca:
        case 0xce:
        case 0xd2:
          at += 5;
          break;
        case 0xcb:
        case 0xcf:
        case 0xd3:
          at += 9;
          break;
        case 0xcc:
        case 0xd0:
          at += 2;
          break;
        case 0xcd:
        case 0xd1:
          at += 3;
          break;
        case 0xd4:
          at += 3;
          break;
        case 0xd5:
          at += 4;
          break;
        case 0xd6:
          at += 6;
          break;
        case 0xd7:
          at += 10;
          break;
        case 0xd8:
          at += 18;
          break;
        case 0xdc:
          pending += b.readUInt16BE(at + 1);
          at += 3;
          break;
        case 0xdd:
          pending += b.readUInt32BE(at + 1);
          at += 5;
          break;
        case 0xde:
          pending += 2 * b.readUInt16BE(at + 1);
          at += 3;
          break;
        case 0xdf:
          pending += 2 * b.readUInt32BE(at + 1);
          at += 5;
          break;
        default:
          throw new TypeError(`not msgpack: type byte 0x${c.toString(16)}`);
      }
  }
  if (at > b.length) throw new RangeError("a msgpack value cut short");
  return at;
}

/** The size and entry count of the msgpack map header at the start of `b`, or null. */
function mapHeader(b: Buffer): { size: number; count: number } | null {
  const c = b[0];
  if (c === undefined) return null;
  if ((c & 0xf0) === 0x80) return { size: 1, count: c & 0x0f };
  if (c === 0xde && b.length >= 3) return { size: 3, count: b.readUInt16BE(1) };
  if (c === 0xdf && b.length >= 5) return { size: 5, count: b.readUInt32BE(1) };
  return null;
}

function mapHeaderBytes(count: number): Buffer {
  if (count < 16) return Buffer.from([0x80 | count]);
  const b = Buffer.allocUnsafe(count < 0x10000 ? 3 : 5);
  if (count < 0x10000) {
    b[0] = 0xde;
    b.writeUInt16BE(count, 1);
  } else {
    b[0] = 0xdf;
    b.writeUInt32BE(count, 1);
  }
  return b;
}

/**
 * Records for dicts read from records: unchanged entries copied as they were read, the
 * others encoded, into a buffer of its own reused from record to record. The same bytes as
 * `encodeMsgpackRecord` would make.
 */
export class MsgpackRecordWriter {
  private buf = Buffer.allocUnsafe(1 << 20);
  private at = 0;

  /** The record of `top`: a view valid until the next call. */
  encode(top: PackedDict): Buffer {
    this.at = LENGTH_BYTES;
    this.map(top);
    this.buf.writeUInt32BE(this.at - LENGTH_BYTES, 0);
    return this.buf.subarray(0, this.at);
  }

  private map(dict: PackedDict): void {
    const header = mapHeaderBytes(dict.size);
    this.reserve(header.length);
    this.at += header.copy(this.buf, this.at);
    const payload = dict.source;
    // unchanged entries stand side by side in the payload: each run of them is one copy
    let from = 0;
    let to = 0;
    for (const key of dict.keysInOrder()) {
      const v = dict.raw(key);
      if (v instanceof PackedDict && !dict.replaced(key) && !v.untouched()) {
        // a dict one level down that changed: its unchanged entries are copied in turn
        const keySpan = dict.storedSpan(key, true);
        if (keySpan && keySpan.start === to) to = keySpan.keyEnd;
        else {
          this.copy(payload, from, to);
          from = to = 0;
          if (keySpan) this.copy(payload, keySpan.start, keySpan.keyEnd);
          else this.put(msgpackCodec().packr.pack(packable(key)));
        }
        this.copy(payload, from, to);
        from = to = 0;
        this.map(v);
        continue;
      }
      const span = dict.storedSpan(key, false);
      if (span) {
        if (span.start !== to) {
          this.copy(payload, from, to);
          from = span.start;
        }
        to = span.end;
        continue;
      }
      this.copy(payload, from, to);
      from = to = 0;
      this.put(msgpackCodec().packr.pack(packable(key))); // copied at once: msgpackr reuses its buffer
      const value = dict.peek(key)!;
      if (!this.byteList(value)) this.put(msgpackCodec().packr.pack(packable(value)));
    }
    this.copy(payload, from, to);
  }

  /**
   * Writes a list of bytes and lists of bytes (headers: the value a script changes most)
   * as msgpackr writes it, without msgpackr; false, having written nothing, for anything else.
   */
  private byteList(v: TValue): boolean {
    if (!Array.isArray(v) || !isByteList(v)) return false;
    this.writeByteList(v);
    return true;
  }

  private writeByteList(list: TValue[]): void {
    this.reserve(5);
    const buf = this.buf;
    const n = list.length;
    if (n < 16) buf[this.at++] = 0x90 | n;
    else if (n < 0x10000) {
      buf[this.at] = 0xdc;
      buf.writeUInt16BE(n, this.at + 1);
      this.at += 3;
    } else {
      buf[this.at] = 0xdd;
      buf.writeUInt32BE(n, this.at + 1);
      this.at += 5;
    }
    for (const x of list) {
      if (Array.isArray(x)) {
        this.writeByteList(x);
        continue;
      }
      const b = x as Buffer;
      const len = b.length;
      this.reserve(5 + len);
      if (len < 0x100) {
        this.buf[this.at] = 0xc4;
        this.buf[this.at + 1] = len;
        this.at += 2;
      } else if (len < 0x10000) {
        this.buf[this.at] = 0xc5;
        this.buf.writeUInt16BE(len, this.at + 1);
        this.at += 3;
      } else {
        this.buf[this.at] = 0xc6;
        this.buf.writeUInt32BE(len, this.at + 1);
        this.at += 5;
      }
      this.at += b.copy(this.buf, this.at);
    }
  }

  /** Copies `payload[from, to)` (nothing when empty). */
  private copy(payload: Buffer | undefined, from: number, to: number): void {
    if (to <= from || !payload) return;
    this.reserve(to - from);
    this.at += payload.copy(this.buf, this.at, from, to);
  }

  private put(bytes: Uint8Array): void {
    this.reserve(bytes.length);
    this.buf.set(bytes, this.at);
    this.at += bytes.length;
  }

  private reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
}

/** True for a list holding only Buffers and lists of the same (a header list), nested at most twice. */
function isByteList(list: TValue[], depth = 0): boolean {
  for (const x of list) {
    if (Buffer.isBuffer(x)) continue;
    if (depth === 0 && Array.isArray(x) && isByteList(x, 1)) continue;
    return false;
  }
  return true;
}

/** reflow msgpack records: a 4-byte big-endian length, then the msgpack map. */
export const MSGPACK_RECORDS: RecordShape = {
  prefixNeed: LENGTH_BYTES,
  suffix: 0,
  prefix(buf, at, _first, fail) {
    if (buf.length - at < LENGTH_BYTES) fail("E_FLOW_TRUNCATED", 0, "file ends inside a record's length prefix");
    return { prefix: LENGTH_BYTES, payload: buf.readUInt32BE(at) };
  },
  damage: () => null,
};

/**
 * Splits a msgpack flow file into records (length prefix included), in batches (those whole
 * in what has been read), after checking its header. Records view the chunks read, as mitm
 * flows do (see frameFlowBatches, which also says what `release` is for). Damage throws
 * FlowReadError after every whole record before it.
 */
export async function* frameMsgpackRecords(
  chunks: AsyncIterable<Buffer>,
  file: string,
  knownSize?: number,
  release?: (chunk: Buffer) => void,
): AsyncGenerator<RawFlow[]> {
  const it = chunks[Symbol.asyncIterator]();
  let head: Buffer = Buffer.alloc(0);
  while (head.length < MSGPACK_MAGIC.length) {
    const r = await it.next();
    if (r.done) break;
    head = head.length ? Buffer.concat([head, r.value]) : r.value;
  }
  if (head.length === 0) return;
  if (head.length < MSGPACK_MAGIC.length)
    throw new FlowReadError("E_FLOW_TRUNCATED", file, 0, 0, "file ends inside the reflow msgpack header");
  if (!head.subarray(0, MSGPACK_MAGIC.length).equals(MSGPACK_MAGIC)) {
    const line = head.subarray(MSGPACK_MAGIC_PREFIX.length, head.indexOf(0x0a)).toString("latin1");
    throw new FlowReadError(
      "E_FLOW_VERSION",
      file,
      0,
      0,
      `reflow msgpack version ${JSON.stringify(line)} is not one this reflow reads (1)`,
    );
  }
  const rest = head.subarray(MSGPACK_MAGIC.length);
  async function* after(): AsyncGenerator<Buffer> {
    if (rest.length) yield rest;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  try {
    yield* frameFlowBatches(after(), file, knownSize, release, MSGPACK_RECORDS, MSGPACK_MAGIC.length);
  } finally {
    await it.return?.();
  }
}
