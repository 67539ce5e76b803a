/**
 * A dict's entries located in its bytes, none decoded: what lets an IndexedDict read one
 * entry without the others, and the encoder copy entries by position.
 */
import { decodeAt } from "./decoder.js";
import { TAG_BYTES, TAG_DICT, TAG_FLOAT, TAG_INT, TAG_LIST, TAG_STR, payloadEnd, payloadStart } from "./element.js";
import { internedAscii } from "./interned-ascii.js";
import { TnetstringError } from "./tnetstring-error.js";
import type { TKey, TValue } from "./values.js";

/** Where DictIndex gathers the positions of the dict it is indexing (one dict at a time). */
const scratch: number[] = [];

/**
 * The entries of a dict, located once: where each key and value lies, nothing decoded. Any
 * entry can then be read without parsing the others: a filter or a listing reads a few
 * entries of every flow, never the rest. Keys are compared as bytes and decoded only when
 * `keys` is asked for (by the writer), so indexing makes no string and no element.
 */
export class DictIndex {
  /** per entry: where it starts (its key's length prefix), where its key's payload starts, where its value starts */
  private readonly at: number[];
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
    // gathered in one shared list and copied out at its size: a list grown entry by entry
    // was most of what indexing a flow allocated
    const at = scratch;
    let n = 0;
    for (let p = payloadStart; p < end;) {
      const keyEnd = payloadEnd(buf, p, end);
      const keyTag = buf[keyEnd];
      if (keyTag === TAG_LIST || keyTag === TAG_DICT || keyTag === TAG_FLOAT)
        throw new TnetstringError("not a tnetstring: unhashable dict key", p);
      at[n++] = p;
      at[n++] = payloadStart;
      at[n++] = keyEnd + 1;
      if (keyEnd + 1 >= end) throw new TnetstringError("not a tnetstring: dict key without a value", p);
      p = payloadEnd(buf, keyEnd + 1, end) + 1;
    }
    this.at = at.slice(0, n);
    if (n > 3 << 10) scratch.length = 0; // a dict of thousands of entries: not kept for the next
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

  /** Entry `i`'s key when it is text of at most 32 ASCII bytes (nearly every key), as `keys` decodes it; else undefined. */
  shortTextKeyAt(i: number): string | undefined {
    const start = this.at[3 * i + 1]!;
    const end = this.at[3 * i + 2]! - 1;
    return this.buf[end] === TAG_STR ? internedAscii(this.buf, start, end) : undefined;
  }

  /** True when entry `i`'s key is the text `key` (ASCII), compared as bytes. */
  textKeyIs(i: number, key: string): boolean {
    const start = this.at[3 * i + 1]!;
    const end = this.at[3 * i + 2]! - 1;
    const n = key.length;
    if (end - start !== n || this.buf[end] !== TAG_STR) return false;
    for (let j = 0; j < n; j++) if (key.charCodeAt(j) !== this.buf[start + j]) return false;
    return true;
  }

  /** Entry `i`'s key, decoded (as `keys` decodes it, without decoding the others). */
  keyAt(i: number): TKey {
    return decodeAt(this.buf, this.at[3 * i]!, this.end, false) as TKey;
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
      } else {
        // Keys told apart by a hash of their length and three of their bytes: only keys that share one
        // (rare) are compared byte by byte with the keys before them.
        const { at, buf } = this;
        let seenLow = 0;
        let seenHigh = 0;
        for (let i = 0; i < n && unique; i++) {
          const start = at[3 * i + 1]!;
          const end = at[3 * i + 2]!; // one past the tag
          const len = end - start;
          const h = Math.imul(len ^ (buf[start]! << 8) ^ (buf[start + (len >> 1)]! << 16) ^ (buf[end - 2]! << 24), 0x9e3779b1) >>> 26;
          const bit = 1 << (h & 31);
          if (h < 32 ? seenLow & bit : seenHigh & bit) for (let j = 0; j < i && unique; j++) unique = !this.sameKey(i, j);
          if (h < 32) seenLow |= bit;
          else seenHigh |= bit;
        }
      }
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

  /**
   * Entry `i`'s value when it is the common simple case, read without the general decoder:
   * a non-negative int of up to 15 digits, or short ASCII text or bytes (as text). Undefined
   * for anything else: read that with `valueAt`. (The flow header is read this way for
   * every flow: version and type.)
   */
  simpleValueAt(i: number): number | string | undefined {
    const buf = this.buf;
    const end = payloadEnd(buf, this.at[3 * i + 2]!, this.end);
    const start = payloadStart;
    const tag = buf[end];
    if (tag === TAG_INT) {
      if (end - start < 1 || end - start > 15) return undefined;
      let n = 0;
      for (let k = start; k < end; k++) {
        const d = buf[k]! - 0x30;
        if (d < 0 || d > 9) return undefined;
        n = n * 10 + d;
      }
      return n;
    }
    return tag === TAG_STR || tag === TAG_BYTES ? internedAscii(buf, start, end) : undefined;
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
