/**
 * tnetstring codec with mitmproxy's extensions (`;` for text), byte-exact both ways.
 *
 * The decoded tree is self-describing, so re-encoding needs no schema:
 *   `,` bytes  -> Buffer (a view into the input, never a copy)
 *   `;` str    -> string
 *   `#` int    -> number (bigint when outside the safe range)
 *   `^` float  -> number, or PyFloat when the value is integral (1.0, -0.0, 1e+16),
 *                 because a JS number cannot otherwise tell 1.0 from 1
 *   `!` bool, `~` null, `]` list -> array, `}` dict -> Map in *insertion* order
 *
 * mitmproxy writes dicts back to front (last inserted entry first), so the decoder
 * reverses entries into insertion order and the encoder, which also writes back to
 * front, restores the file order. See mitm-format.md §1.
 */
import { isUtf8 } from "node:buffer";

/** A float whose value is integral; kept apart so that `1.0^` is not written as `1#`. */
export class PyFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
}

/**
 * An element kept as its original bytes: parsed only when read, written back verbatim.
 * It holds the buffer and offsets, not a view: a view is an object per element, and most
 * raw elements are never looked at.
 */
export class RawElement {
  constructor(
    readonly source: Buffer,
    readonly start: number,
    readonly end: number,
  ) {}

  /** Wraps a whole buffer. */
  static of(bytes: Buffer): RawElement {
    return new RawElement(bytes, 0, bytes.length);
  }

  get bytes(): Buffer {
    return this.source.subarray(this.start, this.end);
  }
}

export type TKey = string | Buffer | number | bigint | boolean | null;
export type TValue = null | boolean | number | bigint | PyFloat | string | Buffer | TValue[] | TDict | RawElement;
export type TDict = Map<TKey, TValue>;

/** A malformed element; `offset` is relative to the buffer handed to the decoder. */
export class TnetstringError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
    this.name = "TnetstringError";
  }
}

const COLON = 0x3a;
const TAG_BYTES = 0x2c; // ,
const TAG_STR = 0x3b; // ;
const TAG_INT = 0x23; // #
const TAG_FLOAT = 0x5e; // ^
const TAG_BOOL = 0x21; // !
const TAG_NULL = 0x7e; // ~
const TAG_LIST = 0x5d; // ]
const TAG_DICT = 0x7d; // }

/** Where one element sits in a buffer. */
export interface ElementSpan {
  tag: number;
  /** first payload byte */
  start: number;
  /** one past the last payload byte (the tag's position) */
  end: number;
  /** one past the tag: where the next element begins */
  next: number;
}

/**
 * Locates the element starting at `pos` without parsing its payload.
 * `limit` is the exclusive end of the region the whole element (tag included) must fit in.
 */
export function spanAt(buf: Buffer, pos: number, limit: number): ElementSpan {
  const end = payloadEnd(buf, pos, limit);
  return { tag: buf[end]!, start: payloadStart, end, next: end + 1 };
}

/** Set by payloadEnd: where the payload it measured starts. (A register: no object per element.) */
let payloadStart = 0;

/**
 * Reads the length prefix of the element at `pos` and returns where its payload ends (the
 * tag's position), checking that the element fits before `limit`.
 */
function payloadEnd(buf: Buffer, pos: number, limit: number): number {
  let len = 0;
  let i = pos;
  for (; i < limit; i++) {
    const c = buf[i]!;
    if (c === COLON) break;
    if (c < 0x30 || c > 0x39) throw new TnetstringError("not a tnetstring: invalid length prefix", i);
    len = len * 10 + (c - 0x30);
    if (i - pos >= 12) throw new TnetstringError("not a tnetstring: absurdly large length prefix", i);
  }
  if (i === pos || i >= limit) throw new TnetstringError("not a tnetstring: missing length prefix", pos);
  payloadStart = i + 1;
  const end = payloadStart + len;
  if (end >= limit) throw new TnetstringError(`not a tnetstring: length ${len} runs past the end`, pos);
  return end;
}

function decodeInt(buf: Buffer, start: number, end: number): number | bigint {
  // Most ints are short (ports, status codes, sizes): read their digits here, no string made.
  const negative = buf[start] === 0x2d;
  const first = negative ? start + 1 : start;
  if (end - first >= 1 && end - first <= 15) {
    let n = 0;
    let i = first;
    for (; i < end; i++) {
      const d = buf[i]! - 0x30;
      if (d < 0 || d > 9) break;
      n = n * 10 + d;
    }
    if (i === end) return negative && n !== 0 ? -n : n; // "-0" is 0 in Python
  }
  const text = buf.toString("latin1", start, end);
  if (!/^-?[0-9]+$/.test(text)) throw new TnetstringError(`not a tnetstring: bad int ${JSON.stringify(text)}`, start);
  const big = BigInt(text);
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

/** True when every byte could belong to a decimal float (digits, sign, point, exponent). */
function floatLike(buf: Buffer, start: number, end: number): boolean {
  if (start === end) return false;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    // 0-9 . + - e E; Number() then rejects the malformed arrangements ("1.2.3", "e5", "-")
    if (!((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2b || c === 0x2d || c === 0x65 || c === 0x45)) return false;
  }
  return true;
}

function decodeFloat(buf: Buffer, start: number, end: number): number | PyFloat {
  const text = buf.toString("latin1", start, end);
  let v = floatLike(buf, start, end) ? Number(text) : NaN;
  if (Number.isNaN(v)) {
    const t = text.toLowerCase();
    if (t === "inf" || t === "+inf" || t === "infinity" || t === "+infinity") v = Infinity;
    else if (t === "-inf" || t === "-infinity") v = -Infinity;
    else if (t === "nan" || t === "+nan" || t === "-nan") v = NaN;
    else throw new TnetstringError(`not a tnetstring: bad float ${JSON.stringify(text)}`, start);
  }
  return Number.isInteger(v) ? new PyFloat(v) : v;
}

/** Slots of the table of short ASCII texts seen before (a power of two). */
const INTERN_SLOTS = 2048;
const internedTexts: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS);

/** True when `text` (ASCII) spells the bytes from `start`. */
function spells(text: string, buf: Buffer, start: number): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

function decodeText(buf: Buffer, start: number, end: number): string {
  // Most text in flows is short ASCII, and the same few dict keys come back in every flow:
  // hand out the string made last time for the same bytes instead of one string per flow.
  if (end - start <= 32) {
    let hash = end - start;
    let i = start;
    for (; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80) break;
      hash = (Math.imul(hash, 31) + c) | 0;
    }
    if (i === end) {
      const slot = hash & (INTERN_SLOTS - 1);
      const known = internedTexts[slot];
      if (known !== undefined && known.length === end - start && spells(known, buf, start)) return known;
      return (internedTexts[slot] = buf.toString("latin1", start, end));
    }
  }
  const view = buf.subarray(start, end);
  if (!isUtf8(view)) throw new TnetstringError("not a tnetstring: invalid UTF-8 in text", start);
  return view.toString("utf8");
}

/**
 * The original entries of a dict made by decodeShallowDict: entry `i` (in file order) is
 * `keys[i]`, read as `values[i]` from bytes `starts[i]` to `starts[i + 1]` of `buf`.
 */
interface DictOrigin {
  buf: Buffer;
  keys: TKey[];
  values: TValue[];
  starts: number[];
}

/**
 * Where a shallowly decoded dict keeps its origin. The encoder copies an entry whose value
 * is still the one read (`===`) instead of encoding it again: a flow in which a script
 * changed only the response costs little more than a copy. A property on the dict, not a
 * WeakMap: a WeakMap entry per flow made the garbage collector's work double.
 */
const ORIGIN = Symbol("tnetstring origin");

/** A dict that may carry its origin (only dicts made by decodeShallowDict do). */
type OriginDict = TDict & { [ORIGIN]?: DictOrigin };

/** Set by decodeAt: one past the tag of the element it just read. (A register, not a return object: no allocation per element.) */
let after = 0;

/** Decodes the element at `pos`, which must end before `limit`. With `shallow`, nested lists and dicts stay RawElements. */
function decodeAt(buf: Buffer, pos: number, limit: number, shallow: boolean): TValue {
  const end = payloadEnd(buf, pos, limit);
  const start = payloadStart;
  const len = end - start;
  const next = end + 1;
  let value: TValue;
  switch (buf[end]) {
    case TAG_BYTES:
      value = buf.subarray(start, end);
      break;
    case TAG_STR:
      value = decodeText(buf, start, end);
      break;
    case TAG_INT:
      value = decodeInt(buf, start, end);
      break;
    case TAG_FLOAT:
      value = decodeFloat(buf, start, end);
      break;
    case TAG_BOOL:
      if (len === 4 && buf[start] === 0x74 && buf[start + 1] === 0x72 && buf[start + 2] === 0x75 && buf[start + 3] === 0x65)
        value = true;
      else if (len === 5 && buf.toString("latin1", start, end) === "false") value = false;
      else throw new TnetstringError(`not a tnetstring: bad bool ${JSON.stringify(buf.toString("latin1", start, end))}`, start);
      break;
    case TAG_NULL:
      if (len !== 0) throw new TnetstringError("not a tnetstring: null with a payload", start);
      value = null;
      break;
    case TAG_LIST:
      if (shallow) value = new RawElement(buf, pos, next);
      else {
        const out: TValue[] = [];
        for (let p = start; p < end; p = after) out.push(decodeAt(buf, p, end, false));
        value = out;
      }
      break;
    case TAG_DICT:
      value = shallow ? new RawElement(buf, pos, next) : decodeDict(buf, start, end, false);
      break;
    default:
      throw new TnetstringError(`not a tnetstring: unknown type tag 0x${buf[end]!.toString(16)}`, end);
  }
  after = next;
  return value;
}

/** Decodes a dict payload. With `shallow`, nested lists and dicts stay RawElements and the dict keeps its origin. */
function decodeDict(buf: Buffer, start: number, end: number, shallow: boolean): TDict {
  const keys: TKey[] = [];
  const values: TValue[] = [];
  const starts: number[] = [];
  for (let pos = start; pos < end; pos = after) {
    const key = decodeAt(buf, pos, end, false);
    if (key instanceof Map || Array.isArray(key) || key instanceof PyFloat || key instanceof RawElement)
      throw new TnetstringError("not a tnetstring: unhashable dict key", pos);
    if (after >= end) throw new TnetstringError("not a tnetstring: dict key without a value", pos);
    keys.push(key as TKey);
    starts.push(pos);
    values.push(decodeAt(buf, after, end, shallow));
  }
  starts.push(end);
  // The file holds the last-inserted entry first; a Map keeps insertion order, so fill it back to front.
  const dict: TDict = new Map();
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i]!;
    if (dict.has(key)) continue; // a duplicate key: the entry later in the file wins, as in Python
    dict.set(key, values[i]!);
  }
  if (shallow) (dict as OriginDict)[ORIGIN] = { buf, keys, values, starts };
  after = end + 1;
  return dict;
}

/** Decodes the single element that fills `buf`, fully. */
export function decode(buf: Buffer): TValue {
  const value = decodeAt(buf, 0, buf.length, false);
  if (after !== buf.length) throw new TnetstringError("not a tnetstring: trailing bytes after the element", after);
  return value;
}

/**
 * Decodes a top-level dict, leaving every nested list or dict as a RawElement.
 * This is the cheap first look at a flow: scalars are parsed, containers are not.
 */
export function decodeShallowDict(buf: Buffer): TDict {
  const s = spanAt(buf, 0, buf.length);
  if (s.next !== buf.length) throw new TnetstringError("not a tnetstring: trailing bytes after the element", s.next);
  if (s.tag !== TAG_DICT) throw new TnetstringError("not a tnetstring dict", s.end);
  return decodeDict(buf, s.start, s.end, true);
}

/**
 * The entries of the dict that fills `buf`, located once: keys read (short ones interned,
 * so nothing is made for them), values not. Any entry can then be read without parsing
 * the others: a filter or a listing reads a few entries of every flow, never the rest.
 */
export class DictIndex {
  readonly keys: TKey[] = [];
  /** where entry `i` starts (its key), and where its value starts */
  readonly starts: number[] = [];
  private readonly values: number[] = [];
  /** where the payload ends (the position of the closing tag), which is where the last entry ends */
  readonly end: number;
  private unique: boolean | undefined;

  constructor(readonly buf: Buffer) {
    this.end = payloadEnd(buf, 0, buf.length);
    if (buf[this.end] !== TAG_DICT || this.end + 1 !== buf.length)
      throw new TnetstringError("not a tnetstring dict", this.end);
    for (let pos = payloadStart; pos < this.end; ) {
      const key = decodeAt(buf, pos, this.end, true);
      if (after >= this.end) throw new TnetstringError("not a tnetstring: dict key without a value", pos);
      this.keys.push(key as TKey);
      this.starts.push(pos);
      this.values.push(after);
      pos = payloadEnd(buf, after, this.end) + 1;
    }
  }

  /** True when no key is written twice (then every entry is one of the dict's). */
  get keysUnique(): boolean {
    this.unique ??=
      new Set(this.keys.map((k) => (Buffer.isBuffer(k) ? `b:${k.toString("latin1")}` : k))).size === this.keys.length;
    return this.unique;
  }

  /**
   * The value of text key `key` (nested lists and dicts as RawElements), or undefined when
   * there is none. A key written twice reads as its later entry, as decodeDict reads it.
   */
  get(key: string): TValue | undefined {
    for (let i = this.keys.length - 1; i >= 0; i--)
      if (this.keys[i] === key) return decodeAt(this.buf, this.values[i]!, this.end, true);
    return undefined;
  }
}

/** Parses a RawElement on demand; any other value is returned as it is. */
export function resolve(v: TValue): TValue {
  return v instanceof RawElement ? decode(v.bytes) : v;
}

/** Fully parses a value, including any RawElements left inside it. */
export function resolveDeep(v: TValue): TValue {
  if (v instanceof RawElement) return decode(v.bytes);
  if (Array.isArray(v)) return v.map(resolveDeep);
  if (v instanceof Map) {
    const out: TDict = new Map();
    for (const [k, x] of v) out.set(k, resolveDeep(x));
    return out;
  }
  return v;
}

// ---------------------------------------------------------------------------
// Encoding

/** Python's repr() of a float (shortest round-trip digits, fixed notation for 1e-4 <= |x| < 1e16). */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const ax = Math.abs(x);
  // Where both write fixed notation, JS and Python pick the same shortest digits.
  if (ax >= 1e-4 && ax < 1e16) return Number.isInteger(x) ? `${x}.0` : String(x);
  // Elsewhere Python writes the exponent with a sign and at least two digits: 1e-05, 1e+16.
  const sign = x < 0 ? "-" : "";
  const exp = ax.toExponential(); // shortest digits that round-trip, e.g. "1.2345e+16"
  const ePos = exp.indexOf("e");
  const digits = exp.slice(0, ePos).replace(".", "");
  const e = Number(exp.slice(ePos + 1));
  const mant = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const ee = Math.abs(e).toString().padStart(2, "0");
  return `${sign}${mant}e${e < 0 ? "-" : "+"}${ee}`;
}

const SHORT_ASCII = /^[\x00-\x7f]*$/;

/**
 * Writes tnetstrings back to front into one growing buffer, as mitmproxy does; that is
 * what puts dict entries in reverse insertion order. Reuse one encoder for many flows.
 */
export class TnetEncoder {
  private buf: Buffer;
  private pos: number;

  constructor(initialSize = 1 << 20) {
    this.buf = Buffer.allocUnsafe(initialSize);
    this.pos = initialSize;
  }

  /**
   * Encodes the dict `index` was made over with its text-keyed entries in `replaced` encoded
   * from their values and every other entry copied as it stands; a view as `encode` gives.
   * The index's keys must be unique (see DictIndex.keysUnique).
   */
  encodeReplacing(index: DictIndex, replaced: ReadonlyMap<string, TValue>): Buffer {
    this.pos = this.buf.length;
    this.putByte(TAG_DICT);
    const mark = this.written;
    // back to front, as put() writes a dict: the last entry in the file first
    for (let i = index.keys.length - 1; i >= 0; i--) {
      const key = index.keys[i]!;
      const value = typeof key === "string" ? replaced.get(key) : undefined;
      if (value === undefined) this.putRange(index.buf, index.starts[i]!, index.starts[i + 1] ?? index.end);
      else {
        this.put(value);
        this.put(key);
      }
    }
    this.putLength(mark);
    return this.buf.subarray(this.pos);
  }

  /** Encodes `value`; the result is a view into the encoder's buffer, valid until the next call. */
  encode(value: TValue): Buffer {
    this.pos = this.buf.length;
    this.put(value);
    return this.buf.subarray(this.pos);
  }

  private ensure(n: number): void {
    if (this.pos >= n) return;
    const used = this.buf.length - this.pos;
    let size = this.buf.length * 2;
    while (size - used < n) size *= 2;
    const bigger = Buffer.allocUnsafe(size);
    this.buf.copy(bigger, size - used, this.pos);
    this.buf = bigger;
    this.pos = size - used;
  }

  private putByte(b: number): void {
    this.ensure(1);
    this.buf[--this.pos] = b;
  }


  private putRange(source: Buffer, start: number, end: number): void {
    this.ensure(end - start);
    this.pos -= end - start;
    source.copy(this.buf, this.pos, start, end);
  }

  private putAscii(s: string): void {
    const n = s.length;
    this.ensure(n);
    this.pos -= n;
    if (n > 24) {
      this.buf.write(s, this.pos, "latin1");
      return;
    }
    // Short strings (lengths, tags, numbers, keys) byte by byte: Buffer#write costs a native call each.
    const b = this.buf;
    const p = this.pos;
    for (let i = 0; i < n; i++) b[p + i] = s.charCodeAt(i);
  }

  /** How much has been written: a mark that stays valid when the buffer grows. */
  private get written(): number {
    return this.buf.length - this.pos;
  }

  /** Prefixes the payload written since `mark` with its length and ':'. */
  private putLength(mark: number): void {
    const len = this.written - mark;
    this.putByte(COLON);
    this.putAscii(String(len));
  }

  private putScalar(tag: number, payload: string): void {
    this.putByte(tag);
    const mark = this.written;
    this.putAscii(payload);
    this.putLength(mark);
  }

  private put(v: TValue): void {
    if (v === null) return this.putAscii("0:~");
    switch (typeof v) {
      case "boolean":
        return this.putAscii(v ? "4:true!" : "5:false!");
      case "number":
        if (Number.isInteger(v) && !Object.is(v, -0))
          return this.putScalar(TAG_INT, Number.isSafeInteger(v) ? String(v) : BigInt(v).toString());
        return this.putScalar(TAG_FLOAT, pythonFloatRepr(v));
      case "bigint":
        return this.putScalar(TAG_INT, v.toString());
      case "string": {
        this.putByte(TAG_STR);
        const mark = this.written;
        if (v.length <= 32 && SHORT_ASCII.test(v)) {
          this.putAscii(v); // ASCII: its UTF-8 bytes are its char codes
          return this.putLength(mark);
        }
        const n = Buffer.byteLength(v, "utf8");
        this.ensure(n);
        this.pos -= n;
        this.buf.write(v, this.pos, n, "utf8");
        return this.putLength(mark);
      }
    }
    if (v instanceof Uint8Array) {
      this.putByte(TAG_BYTES);
      const mark = this.written;
      this.ensure(v.length);
      this.pos -= v.length;
      this.buf.set(v, this.pos);
      return this.putLength(mark);
    }
    if (v instanceof PyFloat) return this.putScalar(TAG_FLOAT, pythonFloatRepr(v.value));
    if (v instanceof RawElement) return this.putRange(v.source, v.start, v.end);
    if (Array.isArray(v)) {
      this.putByte(TAG_LIST);
      const mark = this.written;
      for (let i = v.length - 1; i >= 0; i--) this.put(v[i]!);
      return this.putLength(mark);
    }
    if (v instanceof Map) {
      this.putByte(TAG_DICT);
      const mark = this.written;
      const origin = (v as OriginDict)[ORIGIN];
      // Insertion order, written back to front: the last-inserted entry ends up first.
      let hint = origin ? origin.keys.length - 1 : -1;
      for (const [key, value] of v) {
        if (origin) {
          // entries come in reverse file order, so the key is almost always at `hint`
          const at = origin.keys[hint] === key ? hint : origin.keys.lastIndexOf(key);
          hint = at - 1;
          if (at >= 0 && origin.values[at] === value) {
            this.putRange(origin.buf, origin.starts[at]!, origin.starts[at + 1]!); // unchanged since read
            continue;
          }
        }
        this.put(value);
        this.put(key);
      }
      return this.putLength(mark);
    }
    throw new TypeError(`cannot encode ${Object.prototype.toString.call(v)} as a tnetstring`);
  }
}

const sharedEncoder = new TnetEncoder(1 << 16);

/** Encodes one value into a fresh Buffer. */
export function encode(value: TValue): Buffer {
  return Buffer.from(sharedEncoder.encode(value));
}
