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

/**
 * The text of short ASCII bytes (at most 32), the same string each time the same bytes come
 * back; undefined for anything longer or not ASCII. Most text in flows is short ASCII (dict
 * keys, methods, schemes, versions), the same few in every flow: handing out the string made
 * last time saves making, and later collecting, one string per flow.
 */
export function internedAscii(buf: Buffer, start: number, end: number): string | undefined {
  if (end - start > 32) return undefined;
  let hash = end - start;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x80) return undefined;
    hash = (Math.imul(hash, 31) + c) | 0;
  }
  const slot = hash & (INTERN_SLOTS - 1);
  const known = internedTexts[slot];
  if (known !== undefined && known.length === end - start && spells(known, buf, start)) return known;
  return (internedTexts[slot] = buf.toString("latin1", start, end));
}

function decodeText(buf: Buffer, start: number, end: number): string {
  const short = internedAscii(buf, start, end);
  if (short !== undefined) return short;
  const view = buf.subarray(start, end);
  if (!isUtf8(view)) throw new TnetstringError("not a tnetstring: invalid UTF-8 in text", start);
  return view.toString("utf8");
}

/**
 * The original entries of a shallowly decoded dict (decodeShallowDict, a filled
 * IndexedDict): entry `i` (in file order) is `keys[i]`, read as `values[i]` from bytes
 * `starts[i]` to `starts[i + 1]` of `buf`.
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

/** A dict that may carry its origin (only shallowly decoded ones do). */
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

/** Where a pair's two byte strings lie in `buf`, as visitBytePairs hands them out. */
export type BytePairVisitor = (buf: Buffer, nameStart: number, nameEnd: number, valueStart: number, valueEnd: number) => void;

/**
 * Visits every item of the raw list `raw` that is a pair of byte strings (how headers are
 * stored: `[[name, value], …]`), reading only lengths and tags: no element is made. Returns
 * false, having visited some items or none, when the list holds anything else or is
 * malformed; the caller then decodes it the usual way, which reports what is wrong.
 */
export function visitBytePairs(raw: RawElement, visit: BytePairVisitor): boolean {
  const buf = raw.source;
  try {
    const end = payloadEnd(buf, raw.start, raw.end);
    if (buf[end] !== TAG_LIST || end + 1 !== raw.end) return false;
    for (let pos = payloadStart; pos < end; ) {
      const itemEnd = payloadEnd(buf, pos, end);
      if (buf[itemEnd] !== TAG_LIST) return false;
      const nameEnd = payloadEnd(buf, payloadStart, itemEnd);
      const nameStart = payloadStart;
      if (buf[nameEnd] !== TAG_BYTES || nameEnd + 1 >= itemEnd) return false;
      const valueEnd = payloadEnd(buf, nameEnd + 1, itemEnd);
      if (buf[valueEnd] !== TAG_BYTES || valueEnd + 1 !== itemEnd) return false;
      visit(buf, nameStart, nameEnd, payloadStart, valueEnd);
      pos = itemEnd + 1;
    }
    return true;
  } catch (e) {
    if (e instanceof TnetstringError) return false;
    throw e;
  }
}

/**
 * Decodes a RawElement fully, where it stands in its source: the offset of any damage then
 * counts from the source's start (the flow's), not from the element's.
 */
export function decodeRaw(raw: RawElement): TValue {
  const value = decodeAt(raw.source, raw.start, raw.end, false);
  if (after !== raw.end) throw new TnetstringError("not a tnetstring: trailing bytes after the element", after);
  return value;
}

/** Decodes the single element that fills `buf`, fully. */
export function decode(buf: Buffer): TValue {
  const value = decodeAt(buf, 0, buf.length, false);
  if (after !== buf.length) throw new TnetstringError("not a tnetstring: trailing bytes after the element", after);
  return value;
}

/**
 * Decodes a top-level dict, leaving every nested list or dict as a RawElement: what a
 * filled IndexedDict holds, made in one go (the reference its tests compare with).
 */
export function decodeShallowDict(buf: Buffer): TDict {
  const s = spanAt(buf, 0, buf.length);
  if (s.next !== buf.length) throw new TnetstringError("not a tnetstring: trailing bytes after the element", s.next);
  if (s.tag !== TAG_DICT) throw new TnetstringError("not a tnetstring dict", s.end);
  return decodeDict(buf, s.start, s.end, true);
}

/**
 * The entries of a dict, located once: where each key and value lies, nothing decoded. Any
 * entry can then be read without parsing the others: a filter or a listing reads a few
 * entries of every flow, never the rest. Keys are compared as bytes and decoded only when
 * `keys` is asked for (by the writer), so indexing makes no string and no element.
 */
export class DictIndex {
  /** per entry: where it starts (its key's length prefix), where its key's payload starts, where its value starts */
  private readonly at: number[] = [];
  /** where the payload starts and ends (the position of the closing tag, where the last entry ends) */
  readonly start: number;
  readonly end: number;
  private decodedKeys: TKey[] | undefined;
  private unique: boolean | undefined;

  /** Indexes the dict that fills `buf`, or the one at `buf[pos..limit)` (which must fill it). */
  constructor(
    readonly buf: Buffer,
    pos = 0,
    limit = buf.length,
  ) {
    const end = (this.end = payloadEnd(buf, pos, limit));
    if (buf[end] !== TAG_DICT || end + 1 !== limit) throw new TnetstringError("not a tnetstring dict", end);
    this.start = payloadStart;
    const at = this.at;
    for (let p = payloadStart; p < end; ) {
      const keyEnd = payloadEnd(buf, p, end);
      const keyTag = buf[keyEnd];
      if (keyTag === TAG_LIST || keyTag === TAG_DICT || keyTag === TAG_FLOAT)
        throw new TnetstringError("not a tnetstring: unhashable dict key", p);
      at.push(p, payloadStart, keyEnd + 1);
      if (keyEnd + 1 >= end) throw new TnetstringError("not a tnetstring: dict key without a value", p);
      p = payloadEnd(buf, keyEnd + 1, end) + 1;
    }
  }

  /** How many entries are written (a repeated key counts each time). */
  get length(): number {
    return this.at.length / 3;
  }

  /** Where entry `i` starts; `entryStart(length)` is `end`. */
  entryStart(i: number): number {
    return i < this.length ? this.at[3 * i]! : this.end;
  }

  /** The keys in file order, decoded (short texts interned). */
  get keys(): TKey[] {
    if (this.decodedKeys) return this.decodedKeys;
    const keys: TKey[] = [];
    for (let i = 0; i < this.at.length; i += 3) keys.push(decodeAt(this.buf, this.at[i]!, this.end, false) as TKey);
    return (this.decodedKeys = keys);
  }

  /** Where entry `i`'s value starts (its key ends there). */
  valueStart(i: number): number {
    return this.at[3 * i + 2]!;
  }

  /** True when no key is written twice (then every entry is one of the dict's). */
  get keysUnique(): boolean {
    if (this.unique === undefined) {
      // Compared as written (tag and bytes), nothing decoded: the writer asks this of every flow.
      const n = this.length;
      let unique = true;
      if (n > 32) {
        const seen = new Set<string>();
        for (let i = 0; i < n && unique; i++) {
          const key = this.buf.toString("latin1", this.at[3 * i + 1]!, this.at[3 * i + 2]!); // payload and tag
          unique = !seen.has(key);
          seen.add(key);
        }
      } else for (let i = 1; i < n && unique; i++) for (let j = 0; j < i && unique; j++) unique = !this.sameKey(i, j);
      this.unique = unique;
    }
    return this.unique;
  }

  /** True when entries `i` and `j` have the same key: same kind, same bytes. */
  private sameKey(i: number, j: number): boolean {
    const { at, buf } = this;
    const si = at[3 * i + 1]!;
    const sj = at[3 * j + 1]!;
    const n = at[3 * i + 2]! - si; // payload and tag
    if (at[3 * j + 2]! - sj !== n) return false;
    for (let k = n - 1; k >= 0; k--) if (buf[si + k] !== buf[sj + k]) return false;
    return true;
  }

  /** The value of entry `i`, nested lists and dicts left as RawElements. */
  valueAt(i: number): TValue {
    return decodeAt(this.buf, this.at[3 * i + 2]!, this.end, true);
  }

  /**
   * The number of the entry with text key `key` (the later of a repeated key, as decodeDict
   * reads it), or -1. With `bytesKeys`, a bytes key spelling `key` counts too (old formats).
   */
  find(key: string, bytesKeys = false): number {
    const { at, buf } = this;
    const n = key.length;
    for (let i = at.length - 3; i >= 0; i -= 3) {
      const keyStart = at[i + 1]!;
      const keyEnd = at[i + 2]! - 1;
      if (keyEnd - keyStart !== n) continue;
      const tag = buf[keyEnd];
      if (tag !== TAG_STR && !(bytesKeys && tag === TAG_BYTES)) continue;
      let j = 0;
      while (j < n && key.charCodeAt(j) === buf[keyStart + j]) j++;
      if (j === n) return i / 3; // ASCII keys (all a flow has); others never match by bytes
    }
    return -1;
  }
}

/**
 * A dict entry as stored: for an IndexedDict, a list or dict never read is still its
 * RawElement (see IndexedDict.peek); any other dict's entries are what they hold.
 */
export function storedEntry(dict: TDict, key: string): TValue | undefined {
  return dict instanceof IndexedDict ? dict.peek(key) : dict.get(key);
}

/** How an IndexedDict makes its entries. */
export interface IndexedDictOptions {
  /** Makes a list or dict entry from its bytes when it is first read (default: decoded whole). */
  parse?: (key: string, raw: RawElement) => TValue;
  /** Turns a failure to read an entry into the error to throw (default: the failure itself). */
  failure?: (e: unknown) => Error;
}

/**
 * A dict read entry by entry through a DictIndex: an entry is parsed when first read, and
 * the Map itself is filled (in the dict's order, as decodeDict makes it) only when something
 * needs it whole: iteration, size, delete, or a key that is not text. Until then, reading
 * and setting single entries parse nothing else: a listing reads a request's method and
 * path, a filter its host, and neither pays for the other ten entries. It is a Map, so the
 * model and the encoder handle it as any dict; the encoder copies the entries never read.
 *
 * `get` hands out lists and dicts parsed (by `options.parse`), never as RawElements, so
 * what reads it needs no care; `peek` gives an entry as stored, for a reader that can use
 * the bytes (header lookups). Iterating gives entries never read as RawElements, which
 * the encoder copies as they stand. Damage found while reading an entry goes through
 * `options.failure`, which names the file, the offset and the flow.
 */
export class IndexedDict extends Map<TKey, TValue> {
  /** until filled: where the entries are */
  private index: DictIndex | null;
  /** until filled: the entries read or set so far */
  private readonly early = new Map<string, TValue>();

  constructor(
    index: DictIndex,
    private readonly options: IndexedDictOptions = {},
  ) {
    super();
    this.index = index;
  }

  /** The error to throw for a failure to read an entry's bytes. */
  private failed(e: unknown): unknown {
    return this.options.failure ? this.options.failure(e) : e;
  }

  /** A stored value as `get` hands it out: lists and dicts parsed. */
  private parsed(key: TKey, v: TValue): TValue {
    if (!(v instanceof RawElement)) return v;
    const options = this.options;
    try {
      return options.parse && typeof key === "string" ? options.parse(key, v) : decodeRaw(v);
    } catch (e) {
      throw this.failed(e);
    }
  }

  /** Entry `i`'s value as stored (lists and dicts as RawElements). */
  private storedAt(index: DictIndex, i: number): TValue {
    try {
      return index.valueAt(i);
    } catch (e) {
      throw this.failed(e);
    }
  }

  /** While unfilled: the index and the entries read or set, for the encoder to write from. */
  get unfilled(): { index: DictIndex; read: ReadonlyMap<string, TValue> } | null {
    return this.index && { index: this.index, read: this.early };
  }

  override get(key: TKey): TValue | undefined {
    if (this.index === null || typeof key !== "string") {
      this.fill();
      const v = super.get(key);
      if (!(v instanceof RawElement)) return v;
      const parsed = this.parsed(key, v);
      super.set(key, parsed);
      return parsed;
    }
    const known = this.early.get(key);
    if (known !== undefined && !(known instanceof RawElement)) return known;
    const stored = known ?? this.fromIndex(this.index, key);
    if (stored === undefined) return undefined;
    const v = this.parsed(key, stored);
    this.early.set(key, v); // the same object next time, and written back from here
    return v;
  }

  /** An entry as stored: a list or dict never read is still its RawElement (nothing is parsed). */
  peek(key: TKey): TValue | undefined {
    if (this.index === null || typeof key !== "string") {
      this.fill();
      return super.get(key);
    }
    return this.early.get(key) ?? this.fromIndex(this.index, key);
  }

  /** Text key `key`'s value as stored in the bytes, or undefined when there is none. */
  private fromIndex(index: DictIndex, key: string): TValue | undefined {
    const i = index.find(key);
    return i < 0 ? undefined : this.storedAt(index, i);
  }

  override has(key: TKey): boolean {
    if (this.index !== null && typeof key === "string") return this.early.has(key) || this.index.find(key) >= 0;
    this.fill();
    return super.has(key);
  }

  override set(key: TKey, value: TValue): this {
    if (this.index !== null && typeof key === "string") this.early.set(key, value);
    else {
      this.fill();
      super.set(key, value);
    }
    return this;
  }

  // Everything else needs the whole dict: fill it, then do what a Map does.
  override delete(key: TKey): boolean {
    this.fill();
    return super.delete(key);
  }

  override clear(): void {
    this.fill();
    super.clear();
  }

  override get size(): number {
    this.fill();
    return super.size;
  }

  override forEach(fn: (value: TValue, key: TKey, map: Map<TKey, TValue>) => void, thisArg?: unknown): void {
    this.fill();
    super.forEach(fn, thisArg);
  }

  override entries(): MapIterator<[TKey, TValue]> {
    this.fill();
    return super.entries();
  }

  override keys(): MapIterator<TKey> {
    this.fill();
    return super.keys();
  }

  override values(): MapIterator<TValue> {
    this.fill();
    return super.values();
  }

  override [Symbol.iterator](): MapIterator<[TKey, TValue]> {
    this.fill();
    return super.entries();
  }

  /**
   * Fills the Map from the index, as decodeDict would have made it, with the entries read or
   * set since in place of their originals (new keys last, in the order they were set).
   */
  private fill(): void {
    const index = this.index;
    if (index === null) return;
    let keys: TKey[];
    try {
      keys = index.keys;
    } catch (e) {
      throw this.failed(e);
    }
    const values: TValue[] = [];
    const starts: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      values.push(this.storedAt(index, i));
      starts.push(index.entryStart(i));
    }
    this.index = null;
    starts.push(index.end);
    for (let i = keys.length - 1; i >= 0; i--) if (!super.has(keys[i]!)) super.set(keys[i]!, values[i]!);
    for (const [k, v] of this.early) super.set(k, v);
    this.early.clear();
    (this as OriginDict)[ORIGIN] = { buf: index.buf, keys, values, starts };
  }
}

/** Parses a RawElement on demand; any other value is returned as it is. */
export function resolve(v: TValue): TValue {
  return v instanceof RawElement ? decodeRaw(v) : v;
}

/** Fully parses a value, including any RawElements left inside it. */
export function resolveDeep(v: TValue): TValue {
  if (v instanceof RawElement) return decodeRaw(v);
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
   * Writes the dict `index` was made over with its text-keyed entries in `replaced` encoded
   * from their values (those it lacks added) and every other entry copied as it stands.
   * The index's keys must be unique (see DictIndex.keysUnique).
   */
  private putReplacing(index: DictIndex, replaced: ReadonlyMap<string, TValue>): void {
    this.putByte(TAG_DICT);
    const mark = this.written;
    // Which entries are replaced, found by their keys' bytes: no key is decoded.
    const replacing: (TValue | undefined)[] = [];
    const added: [string, TValue][] = [];
    for (const [key, value] of replaced) {
      const i = index.find(key);
      if (i >= 0) replacing[i] = value;
      else added.push([key, value]);
    }
    // back to front, as put() writes a dict: the last entry in the file first
    for (let i = index.length - 1; i >= 0; i--) {
      const value = replacing[i];
      if (value === undefined) this.putRange(index.buf, index.entryStart(i), index.entryStart(i + 1));
      else {
        this.put(value);
        this.putRange(index.buf, index.entryStart(i), index.valueStart(i)); // the key as written
      }
    }
    // Keys the dict did not have were inserted last, so they go first in the file, the newest first.
    for (const [key, value] of added) {
      this.put(value);
      this.put(key);
    }
    this.putLength(mark);
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
    if (v instanceof IndexedDict) {
      const unfilled = v.unfilled;
      if (unfilled && unfilled.index.keysUnique) return this.putReplacing(unfilled.index, unfilled.read);
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
