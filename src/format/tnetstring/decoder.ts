/**
 * The tnetstring decoder: bytes to values, fully or shallowly (nested lists and dicts left
 * as RawElements, read when first asked for). Positions pass through module registers, not
 * return objects: no allocation per element.
 */
import { isUtf8 } from "node:buffer";
import { type OriginDict, ORIGIN } from "./dict-origin.js";
import {
  TAG_BOOL,
  TAG_BYTES,
  TAG_DICT,
  TAG_FLOAT,
  TAG_INT,
  TAG_LIST,
  TAG_NULL,
  TAG_STR,
  payloadEnd,
  payloadStart,
  spanAt,
} from "./element.js";
import { internedAscii } from "./interned-ascii.js";
import { TnetstringError } from "./tnetstring-error.js";
import { PyFloat, RawElement, type TDict, type TKey, type TValue } from "./values.js";

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

/** Powers of ten a double holds exactly (10^0 … 10^22). */
const EXACT_POWERS_OF_TEN = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/**
 * A float written `[-]digits[.digits]` with at most 15 digits, read without making a string:
 * the digits as an integer below 2^53 and 10^(digits after the point) are both exact
 * doubles, so their quotient is the correctly rounded value Number() reads (Clinger's fast
 * path). NaN for anything else (then Number() reads it). Most timestamps are written so.
 */
function decodeShortDecimal(buf: Buffer, start: number, end: number): number {
  const negative = buf[start] === 0x2d;
  let i = negative ? start + 1 : start;
  let digits = 0;
  let fraction = -1; // digits after the point; -1 while none was seen
  let n = 0;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c === 0x2e && fraction < 0) fraction = 0;
    else if (c >= 0x30 && c <= 0x39) {
      n = n * 10 + (c - 0x30);
      digits++;
      if (fraction >= 0) fraction++;
    } else return NaN;
  }
  if (digits === 0 || digits > 15) return NaN;
  const v = fraction > 0 ? n / EXACT_POWERS_OF_TEN[fraction]! : n;
  return negative ? -v : v;
}

function decodeFloat(buf: Buffer, start: number, end: number): number | PyFloat {
  const short = decodeShortDecimal(buf, start, end);
  if (short === short) return Number.isInteger(short) ? new PyFloat(short) : short; // not NaN
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

function decodeText(buf: Buffer, start: number, end: number): string {
  const short = internedAscii(buf, start, end);
  if (short !== undefined) return short;
  const view = buf.subarray(start, end);
  if (!isUtf8(view)) throw new TnetstringError("not a tnetstring: invalid UTF-8 in text", start);
  return view.toString("utf8");
}

/** Set by decodeAt: one past the tag of the element it just read. (A register, not a return object: no allocation per element.) */
let after = 0;

/** Decodes the element at `pos`, which must end before `limit`. With `shallow`, nested lists and dicts stay RawElements. (Within the codec only: the public face does not export it.) */
export function decodeAt(buf: Buffer, pos: number, limit: number, shallow: boolean): TValue {
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
      if (
        len === 4 &&
        buf[start] === 0x74 &&
        buf[start + 1] === 0x72 &&
        buf[start + 2] === 0x75 &&
        buf[start + 3] === 0x65
      )
        value = true;
      else if (len === 5 && buf.toString("latin1", start, end) === "false") value = false;
      else
        throw new TnetstringError(
          `not a tnetstring: bad bool ${JSON.stringify(buf.toString("latin1", start, end))}`,
          start,
        );
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
