/**
 * The tnetstring encoder: values to bytes, written back to front as mitmproxy writes them,
 * copying whatever is still as it was read.
 */
import type { DictIndex } from "./dict-index.js";
import { type OriginDict, ORIGIN } from "./dict-origin.js";
import { COLON, TAG_BYTES, TAG_DICT, TAG_FLOAT, TAG_INT, TAG_LIST, TAG_STR } from "./element.js";
import { IndexedDict } from "./indexed-dict.js";
import { pythonFloatRepr } from "./python-float.js";
import { PyFloat, RawElement, type TValue } from "./values.js";

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
    if (replaced.size === 1) {
      // the usual case (a script changed the response): no list of what is replaced
      const [key, value] = replaced.entries().next().value as [string, TValue];
      const i = index.find(key);
      if (i >= 0) {
        this.putRange(index.buf, index.entryStart(i + 1), index.end);
        this.put(value);
        this.putRange(index.buf, index.start, index.valueStart(i));
      } else {
        this.putRange(index.buf, index.start, index.end);
        this.put(value);
        this.put(key);
      }
      return this.putLength(mark);
    }
    // Which entries are replaced, found by their keys' bytes: no key is decoded.
    const replacing: (TValue | undefined)[] = [];
    const added: [string, TValue][] = [];
    for (const [key, value] of replaced) {
      const i = index.find(key);
      if (i >= 0) replacing[i] = value;
      else added.push([key, value]);
    }
    // back to front, as put() writes a dict: the last entry in the file first; the entries
    // kept and the keys of those replaced are copied as one range between replaced values
    let copyEnd = index.end;
    for (let i = index.length - 1; i >= 0; i--) {
      const value = replacing[i];
      if (value === undefined) continue;
      this.putRange(index.buf, index.entryStart(i + 1), copyEnd);
      this.put(value);
      copyEnd = index.valueStart(i); // the key as written goes with the range before it
    }
    this.putRange(index.buf, index.start, copyEnd);
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
    let len = this.written - mark;
    this.ensure(17); // the colon and the digits of any length a buffer can have
    const b = this.buf;
    let p = this.pos;
    b[--p] = COLON;
    // back to front: the last digit first, no string made
    do {
      const digit = len % 10;
      b[--p] = 0x30 + digit;
      len = (len - digit) / 10;
    } while (len > 0);
    this.pos = p;
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
