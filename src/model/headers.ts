/**
 * HTTP headers as mitmproxy models them (`mitmproxy.http.Headers`): an ordered list of raw
 * (name, value) byte pairs, looked up case-insensitively, repeated names kept, original case
 * kept. Text goes in and out as UTF-8 with surrogateescape, as mitmproxy does.
 */
import { FlowStateError } from "../errors.js";
import type { TDict, TValue } from "../format/tnetstring.js";
import { setStoredPairs, visitStoredPairs } from "../format/stored-pairs.js";
import { decodeUtf8Escaped, encodeUtf8Escaped } from "./surrogate-escape.js";
import { asBuffer } from "./bytes.js";
import { listEntry } from "./values.js";

/** One raw header field as stored in a flow: `[name, value]`. */
export type HeaderField = [Buffer, Buffer];

/** What headers can be built from: pairs (text or bytes), a plain object, or other Headers. */
export type HeadersInit =
  | Headers
  | Iterable<readonly [string | Uint8Array, string | Uint8Array]>
  | Readonly<Record<string, string | Uint8Array>>;

const CR = 0x0d;
const LF = 0x0a;

/** Header text or bytes as the bytes to store; CR and LF are refused (they would split the header). */
function headerBytes(v: string | Uint8Array, what: "name" | "value"): Buffer {
  let b: Buffer;
  let breaks: boolean;
  if (typeof v === "string") {
    // UTF-8 has CR and LF bytes only where the text has those characters (escaped bytes are 0x80 on)
    breaks = v.includes("\r") || v.includes("\n");
    b = encodeUtf8Escaped(v);
  } else if (v instanceof Uint8Array) {
    b = asBuffer(v);
    breaks = b.includes(CR) || b.includes(LF);
  } else throw new TypeError(`header ${what} must be a string or bytes, not ${typeof v}`);
  if (breaks) throw new TypeError(`header ${what} must not contain CR or LF: ${JSON.stringify(String(v))}`);
  return b;
}

/** Names looked up as text, encoded once: every flow asks for the same few (Host, Content-Type). */
const lookupNames = new Map<string, Buffer>();

/** `text` as header bytes, kept in `cache` (up to 256 texts) for the next time. */
function encodedOnce(cache: Map<string, Buffer>, text: string, what: "name" | "value"): Buffer {
  let b = cache.get(text);
  if (b === undefined) {
    b = headerBytes(text, what);
    if (cache.size < 256) cache.set(text, b);
  }
  return b;
}

/** A name to compare with, never stored (stored names are always fresh Buffers). */
function lookupName(name: string | Uint8Array): Buffer {
  return typeof name === "string" ? encodedOnce(lookupNames, name, "name") : headerBytes(name, "name");
}

/** Values set on stored fields, encoded once: a script sets the same few on every flow. */
const storedValueBytes = new Map<string, Buffer>();

/**
 * A value for `setStored`, which copies it into the list's new bytes and keeps nothing: text
 * is encoded once, up to a few hundred values. Never stored as it is (see `setAll`).
 */
function valueToCopy(v: string | Uint8Array): Buffer {
  return typeof v === "string" && v.length <= 256 ? encodedOnce(storedValueBytes, v, "value") : headerBytes(v, "value");
}

/** ASCII-case-insensitive equality of two header names (Python's `bytes.lower()` only folds ASCII). */
function sameName(a: Buffer, b: Buffer): boolean {
  return sameNameAt(a, 0, a.length, b);
}

/** sameName for a name that lies at `start`..`end` of `buf`. */
function sameNameAt(buf: Buffer, start: number, end: number, b: Buffer): boolean {
  if (end - start !== b.length) return false;
  for (let i = 0; i < b.length; i++) {
    let x = buf[start + i]!;
    let y = b[i]!;
    if (x === y) continue;
    if (x >= 0x41 && x <= 0x5a) x += 0x20;
    if (y >= 0x41 && y <= 0x5a) y += 0x20;
    if (x !== y) return false;
  }
  return true;
}

/**
 * Every value of the header named `key` in headers still stored as raw bytes, found without
 * decoding the list (a filter or a listing asks every flow for Host or Content-Type, and
 * decoding every field was most of their cost). Null when the list is not plain pairs of bytes.
 */
function storedValues(dict: TDict, listKey: string, key: Buffer): string[] | null {
  const out: string[] = [];
  const found = visitStoredPairs(dict, listKey, (buf, nameStart, nameEnd, valueStart, valueEnd) => {
    if (sameNameAt(buf, nameStart, nameEnd, key)) out.push(decodeUtf8Escaped(buf.subarray(valueStart, valueEnd)));
  });
  return found ? out : null;
}

/** The canonical (lower-case ASCII) form of a name, for sets of seen names. */
function nameKey(b: Buffer): string {
  return b.toString("latin1").replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

/** A stored field as a pair of Buffers: the stored pair itself when it is one (no copy per lookup). */
function asField(f: TValue): HeaderField {
  if (Array.isArray(f) && f.length === 2) {
    const [n, v] = f;
    if (Buffer.isBuffer(n) && Buffer.isBuffer(v)) return f as HeaderField;
    const name = Buffer.isBuffer(n) ? n : typeof n === "string" ? Buffer.from(n, "utf8") : null;
    const value = Buffer.isBuffer(v) ? v : typeof v === "string" ? Buffer.from(v, "utf8") : null;
    if (name && value) return [name, value];
  }
  throw new FlowStateError("E_FLOW_SCHEMA", "malformed header field in the flow state (expected [bytes, bytes])");
}

/** What the constructor is given to make a view (a plain constructor call: cheaper than Object.create). */
const VIEW = [] as HeadersInit;

/**
 * Ordered, case-insensitive HTTP headers. Over a flow's state it is a live view: every edit
 * goes straight into the state's list of `[name, value]` pairs.
 *
 * Iterating yields every field as `[name, value]` text, repeats included; `keys()` yields
 * each distinct name once. `size` counts distinct names (as `len(headers)` in mitmproxy),
 * `length` counts fields.
 */
export class Headers implements Iterable<[string, string]> {
  /** the fields, when this holds them or views an already decoded list */
  private fieldList: TValue[] | undefined;
  /** the dict whose entry `entryKey` this views, when it may still be raw bytes (see `overEntry`) */
  private dict: TDict | undefined;
  private entryKey = "";
  /** the message it belongs to, for errors */
  private where = "";

  /** New headers holding their own fields. */
  constructor(init?: HeadersInit) {
    if (init === VIEW) return; // a view, filled in by `over` or `overEntry`
    const list: TValue[] = (this.fieldList = []);
    if (init === undefined) return;
    if (init instanceof Headers) {
      for (const [n, v] of init.fields) list.push([Buffer.from(n), Buffer.from(v)]);
    } else if (typeof (init as Iterable<unknown>)[Symbol.iterator] === "function") {
      for (const [n, v] of init as Iterable<readonly [string | Uint8Array, string | Uint8Array]>)
        list.push([headerBytes(n, "name"), headerBytes(v, "value")]);
    } else {
      for (const [n, v] of Object.entries(init as Record<string, string | Uint8Array>))
        list.push([headerBytes(n, "name"), headerBytes(v, "value")]);
    }
  }

  /** A live view over a flow state's list of `[name, value]` byte pairs. */
  static over(fields: TValue[]): Headers {
    const h = new Headers(VIEW);
    h.fieldList = fields;
    return h;
  }

  /**
   * A live view over the list at `dict[key]`, which may still be its stored bytes: lookups
   * (`get`, `getAll`, `has`) read those without decoding them; anything else decodes the
   * list into the dict first. `where` names the message in the error a non-list gets.
   */
  static overEntry(dict: TDict, key: string, where: string): Headers {
    const h = new Headers(VIEW);
    h.dict = dict;
    h.entryKey = key;
    h.where = where;
    return h;
  }

  /** The field list, decoded (and put into the flow state) when it was still raw. */
  private get list(): TValue[] {
    if (this.fieldList) return this.fieldList;
    return (this.fieldList = listEntry(this.dict!, this.entryKey, this.where));
  }

  /** Every value of `key`, read from the stored bytes while nothing has decoded the list; else null. */
  private storedValues(key: Buffer): string[] | null {
    if (this.fieldList) return null;
    return storedValues(this.dict!, this.entryKey, key);
  }

  /** The raw fields, `[name, value]` byte pairs, live (the state's own list when this is a view). */
  get fields(): HeaderField[] {
    return this.list as HeaderField[];
  }

  /** Number of distinct header names. */
  get size(): number {
    const seen = new Set<string>();
    for (const f of this.list) seen.add(nameKey(asField(f)[0]));
    return seen.size;
  }

  /** Number of header fields (repeats counted). */
  get length(): number {
    return this.list.length;
  }

  /** All values of `name` joined with ", " (RFC 9110 folding), or undefined when absent. */
  get(name: string | Uint8Array): string | undefined {
    const all = this.getAll(name);
    return all.length ? all.join(", ") : undefined;
  }

  /** Every value of `name`, unfolded (use this for Set-Cookie and Cookie). */
  getAll(name: string | Uint8Array): string[] {
    const key = lookupName(name);
    const stored = this.storedValues(key);
    if (stored) return stored;
    const out: string[] = [];
    for (const f of this.list) {
      const [n, v] = asField(f);
      if (sameName(n, key)) out.push(decodeUtf8Escaped(v));
    }
    return out;
  }

  /** True when a field named `name` exists. */
  has(name: string | Uint8Array): boolean {
    const key = lookupName(name);
    const stored = this.storedValues(key);
    if (stored) return stored.length > 0;
    return this.list.some((f) => sameName(asField(f)[0], key));
  }

  /**
   * Replaces every field named `name` with one field holding `value`. As in mitmproxy, the
   * first existing field keeps its place and its name's case; without one, the field is appended.
   */
  set(name: string | Uint8Array, value: string | Uint8Array): this {
    return this.setAll(name, [value]);
  }

  /**
   * Sets the values of `name`: existing fields take the new values in order (keeping their
   * place), surplus fields are removed, surplus values appended (mitmproxy's `set_all`).
   */
  setAll(name: string | Uint8Array, values: Iterable<string | Uint8Array>): this {
    // fields still stored as bytes take the name as bytes, not as a Buffer of its own: the one made before will do
    const stored = this.fieldList === undefined && typeof name === "string";
    const key = stored ? lookupName(name) : headerBytes(name, "name");
    const vals: Buffer[] = [];
    for (const v of values) vals.push(stored ? valueToCopy(v) : headerBytes(v, "value"));
    if (stored && this.setStored(key, vals, true) >= 0) return this;
    // into the list itself: Buffers of their own, not the ones shared for copying
    return stored ? this.setInList(Buffer.from(key), vals.map((v) => Buffer.from(v))) : this.setInList(key, vals);
  }

  /** `setAll` on the decoded list; `key` is stored as it is. */
  private setInList(key: Buffer, vals: Buffer[]): this {
    let w = 0;
    for (let r = 0; r < this.list.length; r++) {
      const f = asField(this.list[r]!);
      if (sameName(f[0], key)) {
        if (!vals.length) continue;
        this.list[w++] = [f[0], vals.shift()!];
      } else this.list[w++] = this.list[r]!;
    }
    this.list.length = w;
    for (const v of vals) this.list.push([key, v]);
    return this;
  }

  /** Appends a field, keeping any existing ones of the same name. */
  add(name: string | Uint8Array, value: string | Uint8Array): this {
    const field: HeaderField = [headerBytes(name, "name"), headerBytes(value, "value")];
    if (this.setStored(field[0], [field[1]], false) < 0) this.list.push(field);
    return this;
  }

  /**
   * `setAll` (or with `replace` false, appending `values` as fields named `key`) on fields
   * still stored as bytes in a flow read from a mitm or msgpack file, without decoding them: the list is
   * written anew as bytes (what the encoder would write for the decoded list so changed),
   * so that a script that sets one header pays neither for decoding the others nor for
   * encoding them again. Gives how many fields named `key` were replaced or dropped, or -1
   * when the fields are not stored so: the caller edits the list.
   */
  private setStored(key: Buffer, values: Buffer[], replace: boolean): number {
    if (this.fieldList) return -1;
    const matches = replace ? (buf: Buffer, start: number, end: number) => sameNameAt(buf, start, end, key) : () => false;
    return setStoredPairs(this.dict!, this.entryKey, matches, key, values);
  }

  /** Inserts a field at `index` among the fields. */
  insert(index: number, name: string | Uint8Array, value: string | Uint8Array): this {
    this.list.splice(index, 0, [headerBytes(name, "name"), headerBytes(value, "value")]);
    return this;
  }

  /** Removes every field named `name`; true if there was one. */
  delete(name: string | Uint8Array): boolean {
    const key = lookupName(name);
    // still stored as bytes: the others are neither decoded nor encoded again (a rule deletes, then adds)
    const dropped = this.setStored(key, [], true);
    if (dropped >= 0) return dropped > 0;
    const before = this.list.length;
    let w = 0;
    for (let r = 0; r < this.list.length; r++)
      if (!sameName(asField(this.list[r]!)[0], key)) this.list[w++] = this.list[r]!;
    this.list.length = w;
    return w !== before;
  }

  /** Removes all fields. */
  clear(): void {
    this.list.length = 0;
  }

  /** Each distinct name once, in the case of its first field. */
  *keys(): IterableIterator<string> {
    const seen = new Set<string>();
    for (const f of this.list) {
      const n = asField(f)[0];
      const k = nameKey(n);
      if (seen.has(k)) continue;
      seen.add(k);
      yield decodeUtf8Escaped(n);
    }
  }

  /** Every field's value, in order. */
  *values(): IterableIterator<string> {
    for (const f of this.list) yield decodeUtf8Escaped(asField(f)[1]);
  }

  /** Every field as `[name, value]`, in order, repeats included. */
  *entries(): IterableIterator<[string, string]> {
    for (const f of this.list) {
      const [n, v] = asField(f);
      yield [decodeUtf8Escaped(n), decodeUtf8Escaped(v)];
    }
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  /** The HTTP/1 header block, `Name: value\r\n` per field (mitmproxy's `bytes(headers)`). */
  toBytes(): Buffer {
    const parts: Buffer[] = [];
    const sep = Buffer.from(": ");
    const crlf = Buffer.from("\r\n");
    for (const f of this.list) {
      const [n, v] = asField(f);
      parts.push(n, sep, v, crlf);
    }
    return Buffer.concat(parts);
  }

  /** The fields as `[name, value]` text pairs (for JSON.stringify). */
  toJSON(): [string, string][] {
    return [...this.entries()];
  }

  /** A copy with its own fields. */
  copy(): Headers {
    return new Headers(this);
  }
}
