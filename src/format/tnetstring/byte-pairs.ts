/**
 * Header lists read in place: `[[name, value], …]` of byte strings, visited by position
 * without making any element.
 */
import { COLON, TAG_BYTES, TAG_LIST, payloadEnd, payloadStart } from "./element.js";
import { TnetstringError } from "./tnetstring-error.js";
import type { RawElement } from "./values.js";

/** Where a pair's two byte strings lie in `buf`, as visitBytePairs hands them out. */
export type BytePairVisitor = (
  buf: Buffer,
  nameStart: number,
  nameEnd: number,
  valueStart: number,
  valueEnd: number,
) => void;

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
    for (let pos = payloadStart; pos < end;) {
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

/** True when the length prefix `buf[pos..colon)` is written as an encoder writes it (no leading zero). */
function canonicalPrefix(buf: Buffer, pos: number, colon: number): boolean {
  return buf[pos] !== 0x30 || colon === pos + 1;
}

/** How many decimal digits `n` (a length) has. */
function digits(n: number): number {
  let d = 1;
  while (n >= 10) {
    n = (n - (n % 10)) / 10;
    d++;
  }
  return d;
}

/** The size of an element with a payload of `len` bytes: prefix, colon, payload, tag. */
function elementSize(len: number): number {
  return digits(len) + 2 + len;
}

/** The size of the pair `[name, value]` of byte strings, encoded. */
function pairSize(name: Buffer, value: Buffer): number {
  return elementSize(elementSize(name.length) + elementSize(value.length));
}

/** Writes `len:` at `at`; returns where the payload goes. */
function writePrefix(out: Buffer, at: number, len: number): number {
  const end = at + digits(len);
  for (let p = end - 1; p >= at; p--) {
    const digit = len % 10;
    out[p] = 0x30 + digit;
    len = (len - digit) / 10;
  }
  out[end] = COLON;
  return end + 1;
}

/** Writes the byte string `bytes` as an element at `at`; returns where it ends. */
function writeBytes(out: Buffer, at: number, bytes: Buffer): number {
  at = writePrefix(out, at, bytes.length);
  at += bytes.copy(out, at);
  out[at] = TAG_BYTES;
  return at + 1;
}

/**
 * The raw list of byte pairs `raw` (headers) with the values of one name set as mitmproxy's
 * `set_all` sets them, written as bytes without decoding the other pairs: the pairs whose
 * name `matches` take `values` in turn (keeping their name), the surplus ones are dropped,
 * and the surplus values are appended as pairs named `name`. The bytes are those the
 * encoder writes for the decoded list so changed. Null when the list is not plain pairs of
 * byte strings written as the encoder writes them: the caller then decodes it.
 */
export function setBytePairs(
  raw: RawElement,
  matches: (buf: Buffer, nameStart: number, nameEnd: number) => boolean,
  name: Buffer,
  values: readonly Buffer[],
): Buffer | null {
  const buf = raw.source;
  /** in order: stretches of the payload kept ([start, end)) and the pairs put in ([name, value]) */
  const parts: ([number, number] | [Buffer, Buffer])[] = [];
  let size = 0;
  let used = 0;
  try {
    const end = payloadEnd(buf, raw.start, raw.end);
    if (buf[end] !== TAG_LIST || end + 1 !== raw.end || !canonicalPrefix(buf, raw.start, payloadStart - 1)) return null;
    let keptFrom = payloadStart;
    for (let pos = payloadStart; pos < end; ) {
      const itemEnd = payloadEnd(buf, pos, end);
      const nameAt = payloadStart;
      if (buf[itemEnd] !== TAG_LIST || !canonicalPrefix(buf, pos, nameAt - 1)) return null;
      const nameEnd = payloadEnd(buf, nameAt, itemEnd);
      const nameStart = payloadStart;
      if (buf[nameEnd] !== TAG_BYTES || nameEnd + 1 >= itemEnd || !canonicalPrefix(buf, nameAt, nameStart - 1)) return null;
      const valueEnd = payloadEnd(buf, nameEnd + 1, itemEnd);
      if (buf[valueEnd] !== TAG_BYTES || valueEnd + 1 !== itemEnd || !canonicalPrefix(buf, nameEnd + 1, payloadStart - 1)) return null;
      const next = itemEnd + 1;
      if (matches(buf, nameStart, nameEnd)) {
        if (keptFrom < pos) parts.push([keptFrom, pos]);
        size += pos - keptFrom;
        keptFrom = next;
        if (used < values.length) {
          const pair: [Buffer, Buffer] = [buf.subarray(nameStart, nameEnd), values[used++]!];
          parts.push(pair);
          size += pairSize(pair[0], pair[1]);
        }
      }
      pos = next;
    }
    if (keptFrom < end) parts.push([keptFrom, end]);
    size += end - keptFrom;
  } catch (e) {
    if (e instanceof TnetstringError) return null;
    throw e;
  }
  for (; used < values.length; used++) {
    parts.push([name, values[used]!]);
    size += pairSize(name, values[used]!);
  }
  const out = Buffer.allocUnsafe(elementSize(size));
  let at = writePrefix(out, 0, size);
  for (const [a, b] of parts) {
    if (typeof a === "number") at += buf.copy(out, at, a, b as number);
    else {
      const v = b as Buffer;
      at = writePrefix(out, at, elementSize(a.length) + elementSize(v.length));
      at = writeBytes(out, writeBytes(out, at, a), v);
      out[at++] = TAG_LIST;
    }
  }
  out[at] = TAG_LIST;
  return out;
}
