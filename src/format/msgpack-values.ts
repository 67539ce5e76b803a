/**
 * Flow-state values in reflow's msgpack, read and written without msgpackr: every msgpack
 * type msgpackr writes for state, plus reflow's extensions: "F" (an integral Python float or
 * -0.0, as float64), "I" (an int beyond 64 bits, as decimal digits) and, from version 2 on,
 * "C" (a container framed with its byte length, so that a reader passes over it in one step).
 *
 * Framing (version 2): a map or list that is a value of the record's top-level map, or a
 * value inside such a container, is written as an ext 32 of type "C" holding it. Deeper
 * containers (a header's `[name, value]` pair) are plain msgpack.
 */
import { FlowStateError } from "../errors.js";
import { PyFloat, RawElement, type TKey, type TValue, internedAscii, resolveDeep } from "./tnetstring.js";

/** ext type of an integral Python float (or -0.0), as float64 */
export const EXT_FLOAT = 0x46;
/** ext type of an int beyond 64 bits, as decimal digits */
export const EXT_LARGE_INT = 0x49;
/** ext type of a framed container (version 2): an ext 32 whose data is one map or list */
export const EXT_CONTAINER = 0x43;
/** bytes before a framed container's data: 0xc9, a 4-byte length, the type */
export const FRAME_HEADER = 6;
/** the deepest level whose containers are framed (the top-level map's values are level 1) */
export const FRAMED_DEPTH = 2;

/**
 * A value held as the bytes MsgpackBuilder writes for it where it stands (a header list
 * edited as bytes, frame included): written as they are, decoded when read.
 */
export class PackedValue {
  constructor(readonly bytes: Buffer) {}

  /** The value the bytes hold. */
  decode(): TValue {
    return decodeValue(this.bytes);
  }
}

/**
 * A msgpack value that does not hold what flow state can be, or bytes that are no msgpack
 * value. A FlowStateError: damage met when a record's entry is first read (by a script, a
 * filter, diff) is named with its flow's file, offset and number, as a mitm flow's is.
 */
export class MsgpackValueError extends FlowStateError {
  constructor(message: string) {
    super("E_FLOW_SCHEMA", message);
  }
}

let pos = 0;

/**
 * The msgpack value at `at` in `b`, and where it ends. Bytes are views into `b`; framed
 * containers are read as the container they hold.
 */
export function decodeValueAt(b: Buffer, at: number): { value: TValue; end: number } {
  pos = at;
  const value = readValue(b);
  return { value, end: pos };
}

/** The one msgpack value that fills `b` (a record's payload, an entry's value). */
export function decodeValue(b: Buffer, at = 0, end = b.length): TValue {
  pos = at;
  const value = readValue(b);
  if (pos !== end) throw new MsgpackValueError("a msgpack value with bytes after it");
  return value;
}

function need(b: Buffer, n: number): void {
  if (pos + n > b.length) throw new MsgpackValueError("a msgpack value cut short");
}

function readValue(b: Buffer): TValue {
  need(b, 1);
  const c = b[pos++]!;
  if (c <= 0x7f) return c;
  if (c >= 0xe0) return c - 0x100;
  if (c <= 0x8f) return readMap(b, c & 0x0f);
  if (c <= 0x9f) return readList(b, c & 0x0f);
  if (c <= 0xbf) return readStr(b, c & 0x1f);
  switch (c) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      need(b, 1);
      return readBin(b, b[pos++]!);
    case 0xc5:
      need(b, 2);
      return readBin(b, b.readUInt16BE((pos += 2) - 2));
    case 0xc6:
      need(b, 4);
      return readBin(b, b.readUInt32BE((pos += 4) - 4));
    case 0xc7:
      need(b, 1);
      return readExt(b, b[pos++]!);
    case 0xc8:
      need(b, 2);
      return readExt(b, b.readUInt16BE((pos += 2) - 2));
    case 0xc9:
      need(b, 4);
      return readExt(b, b.readUInt32BE((pos += 4) - 4));
    case 0xca:
      need(b, 4);
      return b.readFloatBE((pos += 4) - 4);
    case 0xcb:
      need(b, 8);
      return b.readDoubleBE((pos += 8) - 8);
    case 0xcc:
      need(b, 1);
      return b[pos++]!;
    case 0xcd:
      need(b, 2);
      return b.readUInt16BE((pos += 2) - 2);
    case 0xce:
      need(b, 4);
      return b.readUInt32BE((pos += 4) - 4);
    case 0xcf:
      need(b, 8);
      return b.readBigUInt64BE((pos += 8) - 8);
    case 0xd0:
      need(b, 1);
      return b.readInt8(pos++);
    case 0xd1:
      need(b, 2);
      return b.readInt16BE((pos += 2) - 2);
    case 0xd2:
      need(b, 4);
      return b.readInt32BE((pos += 4) - 4);
    case 0xd3:
      need(b, 8);
      return b.readBigInt64BE((pos += 8) - 8);
    case 0xd4:
      return readExt(b, 1);
    case 0xd5:
      return readExt(b, 2);
    case 0xd6:
      return readExt(b, 4);
    case 0xd7:
      return readExt(b, 8);
    case 0xd8:
      return readExt(b, 16);
    case 0xd9:
      need(b, 1);
      return readStr(b, b[pos++]!);
    case 0xda:
      need(b, 2);
      return readStr(b, b.readUInt16BE((pos += 2) - 2));
    case 0xdb:
      need(b, 4);
      return readStr(b, b.readUInt32BE((pos += 4) - 4));
    case 0xdc:
      need(b, 2);
      return readList(b, b.readUInt16BE((pos += 2) - 2));
    case 0xdd:
      need(b, 4);
      return readList(b, b.readUInt32BE((pos += 4) - 4));
    case 0xde:
      need(b, 2);
      return readMap(b, b.readUInt16BE((pos += 2) - 2));
    case 0xdf:
      need(b, 4);
      return readMap(b, b.readUInt32BE((pos += 4) - 4));
    default:
      throw new MsgpackValueError(`not msgpack: type byte 0x${c.toString(16)}`);
  }
}

function readMap(b: Buffer, n: number): TValue {
  const m = new Map<never, TValue>();
  for (let i = 0; i < n; i++) {
    const k = readValue(b) as never;
    m.set(k, readValue(b));
  }
  return m;
}

function readList(b: Buffer, n: number): TValue[] {
  const list = new Array<TValue>(n);
  for (let i = 0; i < n; i++) list[i] = readValue(b);
  return list;
}

function readBin(b: Buffer, n: number): Buffer {
  need(b, n);
  return b.subarray(pos, (pos += n));
}

function readStr(b: Buffer, n: number): string {
  need(b, n);
  const start = pos;
  pos += n;
  // invalid UTF-8 reads as U+FFFD, as msgpackr reads it
  return internedAscii(b, start, pos) ?? b.toString("utf8", start, pos);
}

function readExt(b: Buffer, n: number): TValue {
  need(b, 1 + n);
  const type = b[pos++]!;
  const start = pos;
  const end = (pos += n);
  switch (type) {
    case EXT_FLOAT:
      if (n !== 8) break;
      return new PyFloat(b.readDoubleBE(start));
    case EXT_LARGE_INT:
      return BigInt(b.toString("latin1", start, end));
    case EXT_CONTAINER: {
      pos = start;
      const c = b[start];
      const inner =
        c !== undefined && ((c >= 0x80 && c <= 0x9f) || (c >= 0xdc && c <= 0xdf)) ? readValue(b) : undefined;
      if (inner === undefined || pos !== end)
        throw new MsgpackValueError("a framed msgpack container that holds no single map or list");
      return inner;
    }
  }
  throw new MsgpackValueError(`a msgpack extension of type 0x${type.toString(16)} that is no flow state`);
}

/** True when the byte at `b[at]` opens a framed container (version 2). */
export function isFrame(b: Buffer, at: number): boolean {
  return b[at] === 0xc9 && b[at + 5] === EXT_CONTAINER;
}

/** Where the msgpack value at `at` ends, without decoding it (a framed container in one step). */
export function skipValue(b: Buffer, at: number): number {
  let pending = 1; // values still to pass over
  while (pending > 0) {
    if (at >= b.length) throw new MsgpackValueError("a msgpack value cut short");
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
          throw new MsgpackValueError(`not msgpack: type byte 0x${c.toString(16)}`);
      }
  }
  if (at > b.length) throw new MsgpackValueError("a msgpack value cut short");
  return at;
}

/** Writes state values as version-2 msgpack into a buffer of its own that grows as needed. */
export class MsgpackBuilder {
  buf = Buffer.allocUnsafe(1 << 16);
  at = 0;

  /** Begins a new output at the start of the buffer. */
  start(): void {
    this.at = 0;
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  /** Writes `b[from, to)` as it is. */
  bytes(b: Buffer, from = 0, to = b.length): void {
    const n = to - from;
    if (n <= 0) return;
    this.reserve(n);
    if (n < 64) {
      // a short stretch: cheaper than a call into Buffer.copy
      const buf = this.buf;
      for (let i = 0; i < n; i++) buf[this.at + i] = b[from + i]!;
    } else b.copy(this.buf, this.at, from, to);
    this.at += n;
  }

  /** Opens a framed container: returns where its header is, for `closeFrame`. */
  openFrame(): number {
    this.reserve(FRAME_HEADER);
    const at = this.at;
    this.buf[at] = 0xc9;
    this.buf[at + 5] = EXT_CONTAINER;
    this.at += FRAME_HEADER;
    return at;
  }

  /** Closes the framed container opened at `header`: its length is what was written since. */
  closeFrame(header: number): void {
    this.buf.writeUInt32BE(this.at - header - FRAME_HEADER, header + 1);
  }

  /** Writes `v` at `depth` (the top-level map is depth 0; its values depth 1). */
  value(v: TValue | PackedValue, depth: number): void {
    switch (typeof v) {
      case "number":
        return this.number(v);
      case "string":
        return this.str(v);
      case "boolean":
        this.reserve(1);
        this.buf[this.at++] = v ? 0xc3 : 0xc2;
        return;
      case "bigint":
        return this.bigint(v);
      default:
        break;
    }
    if (v === null) {
      this.reserve(1);
      this.buf[this.at++] = 0xc0;
    } else if (v instanceof Uint8Array) this.bin(v);
    else if (v instanceof PyFloat) this.float(v.value);
    else if (v instanceof RawElement) this.value(resolveDeep(v), depth);
    else if (v instanceof PackedValue) this.bytes(v.bytes); // made for this depth (see PackedDict)
    else if (Array.isArray(v) || v instanceof Map) {
      const frame = depth >= 1 && depth <= FRAMED_DEPTH ? this.openFrame() : -1;
      this.container(v, depth);
      if (frame >= 0) this.closeFrame(frame);
    } else throw new MsgpackValueError(`a value msgpack flow state cannot hold: ${String(v)}`);
  }

  /** A list or map at `depth`, without a frame (the caller writes one where it belongs). */
  container(v: TValue[] | Map<TKey, TValue>, depth: number): void {
    if (Array.isArray(v)) {
      this.listHeader(v.length);
      for (const x of v) this.value(x, depth + 1);
    } else {
      this.mapHeader(v.size);
      for (const [k, x] of v) {
        this.value(k as TValue, depth + 1);
        this.value(x, depth + 1);
      }
    }
  }

  /** The header of a map of `n` entries. */
  mapHeader(n: number): void {
    this.sized(n, 0x80, 16, 0xde, 0xdf);
  }

  /** The header of a list of `n` items. */
  listHeader(n: number): void {
    this.sized(n, 0x90, 16, 0xdc, 0xdd);
  }

  /** A header: `fix | n` below `fixLimit`, else the 16- or 32-bit form. */
  private sized(n: number, fix: number, fixLimit: number, m16: number, m32: number, m8 = -1): void {
    this.reserve(5);
    const buf = this.buf;
    if (n < fixLimit) buf[this.at++] = fix | n;
    else if (m8 >= 0 && n < 0x100) {
      buf[this.at++] = m8;
      buf[this.at++] = n;
    } else if (n < 0x10000) {
      buf[this.at] = m16;
      buf.writeUInt16BE(n, this.at + 1);
      this.at += 3;
    } else {
      buf[this.at] = m32;
      buf.writeUInt32BE(n, this.at + 1);
      this.at += 5;
    }
  }

  /** Bytes as bin. */
  bin(v: Uint8Array): void {
    const n = v.length;
    this.reserve(5 + n);
    const buf = this.buf;
    if (n < 0x100) {
      buf[this.at++] = 0xc4;
      buf[this.at++] = n;
    } else if (n < 0x10000) {
      buf[this.at] = 0xc5;
      buf.writeUInt16BE(n, this.at + 1);
      this.at += 3;
    } else {
      buf[this.at] = 0xc6;
      buf.writeUInt32BE(n, this.at + 1);
      this.at += 5;
    }
    buf.set(v, this.at);
    this.at += n;
  }

  private str(s: string): void {
    const n = s.length;
    let ascii = n < 64;
    if (ascii)
      for (let i = 0; i < n; i++)
        if (s.charCodeAt(i) >= 0x80) {
          ascii = false;
          break;
        }
    const bytes = ascii ? n : Buffer.byteLength(s, "utf8");
    this.sized(bytes, 0xa0, 32, 0xda, 0xdb, 0xd9);
    this.reserve(bytes);
    if (ascii) {
      const buf = this.buf;
      for (let i = 0; i < n; i++) buf[this.at + i] = s.charCodeAt(i);
    } else this.buf.write(s, this.at, bytes, "utf8");
    this.at += bytes;
  }

  private number(v: number): void {
    this.reserve(9);
    const buf = this.buf;
    if (Object.is(v, -0)) this.float(-0);
    else if (v >>> 0 === v) {
      if (v < 0x80) buf[this.at++] = v;
      else if (v < 0x100) {
        buf[this.at++] = 0xcc;
        buf[this.at++] = v;
      } else if (v < 0x10000) {
        buf[this.at] = 0xcd;
        buf.writeUInt16BE(v, this.at + 1);
        this.at += 3;
      } else {
        buf[this.at] = 0xce;
        buf.writeUInt32BE(v, this.at + 1);
        this.at += 5;
      }
    } else if (v >> 0 === v) {
      if (v >= -0x20) buf[this.at++] = v & 0xff;
      else if (v >= -0x80) {
        buf[this.at] = 0xd0;
        buf.writeInt8(v, this.at + 1);
        this.at += 2;
      } else if (v >= -0x8000) {
        buf[this.at] = 0xd1;
        buf.writeInt16BE(v, this.at + 1);
        this.at += 3;
      } else {
        buf[this.at] = 0xd2;
        buf.writeInt32BE(v, this.at + 1);
        this.at += 5;
      }
    } else {
      // other ints and floats as float64, as msgpackr writes them (an int reads back integral)
      buf[this.at] = 0xcb;
      buf.writeDoubleBE(v, this.at + 1);
      this.at += 9;
    }
  }

  /** An integral Python float (or -0.0): ext "F". */
  private float(v: number): void {
    this.reserve(10);
    this.buf[this.at] = 0xd7;
    this.buf[this.at + 1] = EXT_FLOAT;
    this.buf.writeDoubleBE(v, this.at + 2);
    this.at += 10;
  }

  private bigint(v: bigint): void {
    this.reserve(9);
    if (v >= -(1n << 63n) && v < 1n << 63n) {
      this.buf[this.at] = 0xd3;
      this.buf.writeBigInt64BE(v, this.at + 1);
      this.at += 9;
    } else if (v >= 0n && v < 1n << 64n) {
      this.buf[this.at] = 0xcf;
      this.buf.writeBigUInt64BE(v, this.at + 1);
      this.at += 9;
    } else {
      const digits = Buffer.from(v.toString(), "latin1");
      this.sized(digits.length, 0, 0, 0xc8, 0xc9, 0xc7);
      this.reserve(1);
      this.buf[this.at++] = EXT_LARGE_INT;
      this.bytes(digits);
    }
  }
}
