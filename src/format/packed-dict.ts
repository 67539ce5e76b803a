/**
 * A flow's dict read lazily from a reflow msgpack record: where each entry stands is found
 * first (nothing decoded), a value is decoded when first read. In version 2 every container
 * of the top two levels is framed with its byte length, so locating the entries passes over
 * each in one step; in version 1 it walks through them.
 */
import { type MsgpackVersion } from "./flow-formats.js";
import { FRAMED_DEPTH, FRAME_HEADER, MsgpackValueError, PackedValue, decodeValue, isFrame, skipValue } from "./msgpack-values.js";
import { setPackedPairs } from "./packed-pairs.js";
import { type BytePairVisitor, PyFloat, type TKey, type TValue } from "./tnetstring.js";
import { FilledOnDemand } from "./tnetstring/filled-on-demand.js";

const NO_BYTES = Buffer.alloc(0);
/**
 * Where each key was found last, per kind of dict (the top-level dict, and each dict one
 * level down by its key): flows of one file mostly share their dicts' key order.
 */
type Places = Map<string, number>;
const TOP_PLACES: Places = new Map();
const NESTED_PLACES = new Map<string, Places>();

/**
 * A dict read from a msgpack map, entry by entry, as an IndexedDict is read from a mitm
 * file: reading and setting single entries (by text key) decodes nothing else, and the Map
 * itself is filled only when something needs it whole (iteration, size, delete, a key that
 * is not short text). Until then it knows which entries may have changed: a container or
 * bytes handed out by `get` (the caller may change it in place), anything set. The others
 * are written back as the bytes they were read from (MsgpackRecordWriter). The dicts one
 * level down (request, response, connections) are PackedDicts too: a script that sets a
 * response header re-encodes the response's headers, and copies its body as it was read.
 */
export class PackedDict extends FilledOnDemand {
  /** until filled: per entry where it starts and where its key ends, then where the map ends */
  private at: number[] | null = null;
  /** until filled: the entries read or set so far, by entry number (a list edited as bytes as its PackedValue) */
  private early: (TValue | PackedValue | undefined)[] | undefined;
  /** until filled: entries set under keys the map did not hold, in the order they were set */
  private added: Map<string, TValue> | undefined;
  /** until filled: the entries that may have changed since they were read, a bit per entry number below 31 */
  private changedBits = 0;
  /** until filled: the same for entry numbers from 31 on */
  private changedMore: Set<number> | undefined;
  private places: Places = TOP_PLACES;
  private payload: Buffer = NO_BYTES;
  private depth = 0;
  /** the record version this dict was read from */
  version: MsgpackVersion = 1;

  /**
   * Locates the entries of the msgpack map at `payload[start, end)` (a record's payload, or a
   * dict within it): a value is decoded when first read (bytes as views into the payload).
   */
  static read(
    payload: Buffer,
    version: MsgpackVersion,
    start = 0,
    end = payload.length,
    depth = 0,
    places = TOP_PLACES,
  ): PackedDict {
    const dict = new PackedDict();
    dict.depth = depth;
    dict.places = places;
    dict.version = version;
    let pos: number;
    let count: number;
    const c = start < end ? payload[start]! : -1;
    if ((c & 0xf0) === 0x80) ((pos = start + 1), (count = c & 0x0f));
    else if (c === 0xde && end - start >= 3) ((pos = start + 3), (count = payload.readUInt16BE(start + 1)));
    else if (c === 0xdf && end - start >= 5) ((pos = start + 5), (count = payload.readUInt32BE(start + 1)));
    else throw new MsgpackValueError("a msgpack record that is not a map");
    const at: number[] = [];
    for (let i = 0; i < count; i++) {
      const k = payload[pos];
      const keyEnd = k !== undefined && (k & 0xe0) === 0xa0 ? pos + 1 + (k & 0x1f) : skipValue(payload, pos);
      at.push(pos, keyEnd);
      pos = valueEnd(payload, keyEnd, end);
    }
    if (pos !== end) throw new MsgpackValueError("a msgpack map whose entries do not fill it");
    at.push(pos);
    dict.at = at;
    dict.payload = payload;
    return dict;
  }

  /** The entry number of text key `key`; -1 when absent; -2 when it cannot be told without filling. */
  private find(key: TKey): number {
    if (typeof key !== "string" || key.length >= 32) return -2;
    const at = this.at!;
    // flows share their dicts' key order: look first where the key stood last time
    const guess = this.places.get(key);
    if (guess !== undefined && 2 * guess + 2 < at.length && this.keyIs(at[2 * guess]!, key)) return guess;
    for (let i = 0; 2 * i + 2 < at.length; i++)
      if (this.keyIs(at[2 * i]!, key)) {
        this.places.set(key, i);
        return i;
      }
    for (let j = 0; j < key.length; j++) if (key.charCodeAt(j) >= 0x80) return -2; // compared as UTF-8 only once filled
    return -1;
  }

  /** True when the key at `s` is `key` (short text, compared as stored). */
  private keyIs(s: number, key: string): boolean {
    const b = this.payload;
    const n = key.length;
    if (b[s] !== (0xa0 | n)) return false;
    for (let j = 0; j < n; j++) if (b[s + 1 + j] !== key.charCodeAt(j)) return false;
    return true;
  }

  /** Entry `i`'s value, decoded (a dict one level down as a PackedDict of its own). */
  private decodeEntry(i: number, key: TKey): TValue {
    const at = this.at!;
    const payload = this.payload;
    const from = at[2 * i + 1]!;
    const end = at[2 * i + 2]!;
    if (this.depth === 0) {
      const inner = this.version >= 2 && isFrame(payload, from) ? from + FRAME_HEADER : from;
      const c = payload[inner]!;
      if ((c & 0xf0) === 0x80 || c === 0xde || c === 0xdf) {
        let places = typeof key === "string" ? NESTED_PLACES.get(key) : undefined;
        if (!places) {
          places = new Map();
          if (typeof key === "string") NESTED_PLACES.set(key, places);
        }
        return PackedDict.read(payload, this.version, inner, end, 1, places);
      }
    }
    return decodeValue(payload, from, end);
  }

  /** Entry `i`'s value as read or set so far, decoded now if it was not yet. */
  private entryValue(i: number, key: TKey): TValue {
    const early = (this.early ??= []);
    const v = early[i];
    if (v === undefined) return (early[i] = this.decodeEntry(i, key));
    if (v instanceof PackedValue) return (early[i] = v.decode());
    return v;
  }

  private markChanged(i: number): void {
    if (i < 31) this.changedBits |= 1 << i;
    else (this.changedMore ??= new Set()).add(i);
  }

  private isChanged(i: number): boolean {
    return i < 31 ? (this.changedBits & (1 << i)) !== 0 : (this.changedMore?.has(i) ?? false);
  }

  override get(key: TKey): TValue | undefined {
    if (this.at === null) return super.get(key);
    const i = this.find(key);
    if (i === -1) return this.added?.get(key as string);
    if (i === -2) {
      this.fill();
      return super.get(key);
    }
    const v = this.entryValue(i, key);
    // a nested PackedDict keeps track of its own changes; other objects may be changed in place
    if (typeof v === "object" && v !== null && !(v instanceof PyFloat) && !(v instanceof PackedDict))
      this.markChanged(i);
    return v;
  }

  override has(key: TKey): boolean {
    if (this.at === null) return super.has(key);
    const i = this.find(key);
    if (i >= 0) return true;
    if (i === -1) return this.added?.has(key as string) ?? false;
    this.fill();
    return super.has(key);
  }

  override set(key: TKey, value: TValue): this {
    if (this.at === null) return super.set(key, value); // also while Map's constructor runs
    const i = this.find(key);
    if (i >= 0) {
      (this.early ??= [])[i] = value;
      this.markChanged(i);
    } else if (i === -1) (this.added ??= new Map()).set(key as string, value);
    else {
      this.fill();
      super.set(key, value);
    }
    return this;
  }

  override get size(): number {
    if (this.at === null) return super.size; // filled
    return (this.at.length - 1) / 2 + (this.added?.size ?? 0);
  }

  /** Makes the Map whole, every value decoded, the entries read or set in place of their originals. */
  protected fill(): void {
    const at = this.at;
    if (at === null) return;
    const n = (at.length - 1) / 2;
    const entries: [TKey, TValue][] = [];
    for (let i = 0; i < n; i++) {
      const key = decodeValue(this.payload, at[2 * i]!, at[2 * i + 1]!) as TKey;
      const v = this.early?.[i];
      entries.push([key, v === undefined ? this.decodeEntry(i, key) : v instanceof PackedValue ? v.decode() : v]);
    }
    this.at = null;
    for (const [k, v] of entries) super.set(k, v);
    for (const [k, v] of this.added ?? []) super.set(k, v);
    this.early = this.added = this.changedMore = undefined;
    this.changedBits = 0;
  }

  /**
   * Visits the `[name, value]` byte pairs of the list under `key` as stored (a header
   * lookup), making no element and counting as no read. False, having visited some pairs or
   * none, when the entry was read or set already, or holds anything but pairs of bytes: the
   * caller then reads it the usual way.
   */
  visitStoredPairs(key: string, visit: BytePairVisitor): boolean {
    if (this.at === null) return false;
    const i = this.find(key);
    if (i < 0 || this.early?.[i] !== undefined) return false;
    const b = this.payload;
    let pos = this.at[2 * i + 1]!;
    const end = this.at[2 * i + 2]!;
    if (this.version >= 2 && isFrame(b, pos)) pos += FRAME_HEADER;
    const c = b[pos]!;
    let count: number;
    if ((c & 0xf0) === 0x90) ((count = c & 0x0f), (pos += 1));
    else if (c === 0xdc && pos + 3 <= end) ((count = b.readUInt16BE(pos + 1)), (pos += 3));
    else return false;
    for (let n = 0; n < count; n++) {
      if (b[pos] !== 0x92 || !binAt(b, pos + 1, end)) return false;
      const nameStart = binStart;
      const nameEnd = binEnd;
      if (!binAt(b, nameEnd, end)) return false;
      visit(b, nameStart, nameEnd, binStart, binEnd);
      pos = binEnd;
    }
    return pos === end;
  }

  /**
   * Sets one name's values in the list of `[name, value]` bins under `key` (a header list)
   * as bytes, the other pairs neither decoded nor encoded again: see setPackedPairs. Gives
   * the list's new value when the list is still stored (or was edited so before) as
   * MsgpackBuilder writes it, else null (read it and change it the usual way). `set` it
   * with setPacked; until then nothing has changed.
   */
  editedPairs(
    key: string,
    matches: (buf: Buffer, nameStart: number, nameEnd: number) => boolean,
    name: Buffer,
    values: readonly Buffer[],
  ): PackedValue | null {
    // the bytes are those of the list at its depth: only where records are framed as this reflow frames them
    if (this.at === null || this.version < 2) return null;
    const i = this.find(key);
    if (i < 0) return null;
    const framed = this.depth + 1 >= 1 && this.depth + 1 <= FRAMED_DEPTH;
    const before = this.early?.[i];
    let edited: Buffer | null;
    if (before instanceof PackedValue) edited = setPackedPairs(before.bytes, 0, before.bytes.length, framed, matches, name, values);
    else if (before === undefined) edited = setPackedPairs(this.payload, this.at[2 * i + 1]!, this.at[2 * i + 2]!, framed, matches, name, values);
    else return null;
    return edited && new PackedValue(edited);
  }

  /** Puts in a list made by editedPairs under `key`. */
  setPacked(key: string, value: PackedValue): void {
    const i = this.find(key);
    if (i < 0 || this.at === null) throw new Error(`setPacked: no entry ${key} stored`);
    (this.early ??= [])[i] = value;
    this.markChanged(i);
  }

  /** True when nothing in this dict (nor in the dicts it holds) can have changed since it was read. */
  untouched(): boolean {
    if (this.at === null || this.changedBits !== 0 || this.changedMore?.size || this.added?.size) return false;
    if (this.early) for (const v of this.early) if (v instanceof PackedDict && !v.untouched()) return false;
    return true;
  }

  /**
   * How the writer reads this dict while it is not filled: the map it was read from, where
   * its entries stand, and per entry what became of it. Null once filled (then it is a Map
   * like any other).
   */
  stored(): StoredEntries | null {
    const at = this.at;
    if (at === null) return null;
    return {
      payload: this.payload,
      at,
      count: (at.length - 1) / 2,
      state: (i) => {
        const v = this.early?.[i];
        if (v === undefined) return KEPT;
        if (this.isChanged(i)) return { value: v };
        return v instanceof PackedDict && !v.untouched() ? v : KEPT;
      },
      added: this.added ?? new Map(),
    };
  }
}

/** An entry written as it was read. */
export const KEPT = Symbol("kept");

/** A not-yet-filled PackedDict as its writer sees it (see PackedDict.stored). */
export interface StoredEntries {
  /** the msgpack map read */
  payload: Buffer;
  /** entry `i` starts at `at[2i]`, its value at `at[2i+1]`, and it ends at `at[2i+2]` */
  at: readonly number[];
  count: number;
  /** entry `i`: as read (KEPT), a changed dict one level down, or a value to encode */
  state(i: number): typeof KEPT | PackedDict | { value: TValue | PackedValue };
  /** entries under new keys, after the others */
  added: ReadonlyMap<string, TValue>;
}

let binStart = 0;
let binEnd = 0;

/** Reads the bin at `pos`: its bytes' start and end into binStart and binEnd; false when it is none or overruns `limit`. */
function binAt(b: Buffer, pos: number, limit: number): boolean {
  const c = b[pos];
  if (c === 0xc4 && pos + 2 <= limit) ((binEnd = b[pos + 1]!), (binStart = pos + 2));
  else if (c === 0xc5 && pos + 3 <= limit) ((binEnd = b.readUInt16BE(pos + 1)), (binStart = pos + 3));
  else if (c === 0xc6 && pos + 5 <= limit) ((binEnd = b.readUInt32BE(pos + 1)), (binStart = pos + 5));
  else return false;
  binEnd += binStart; // binEnd held the length
  return binEnd <= limit;
}

/** Where the value at `at` ends: the kinds a flow dict holds most passed at once, the others by skipValue. */
function valueEnd(b: Buffer, at: number, end: number): number {
  if (at >= end) throw new MsgpackValueError("a msgpack value cut short");
  const c = b[at]!;
  if (c <= 0x7f || c >= 0xe0 || c === 0xc0 || c === 0xc2 || c === 0xc3) return at + 1;
  if ((c & 0xe0) === 0xa0) return at + 1 + (c & 0x1f);
  if (c === 0xc9 && at + 5 <= end) return at + 6 + b.readUInt32BE(at + 1); // a frame (or any ext 32)
  if (c === 0xc4 && at + 2 <= end) return at + 2 + b[at + 1]!;
  if (c === 0xcb) return at + 9;
  return skipValue(b, at);
}
