/**
 * A flow's top-level dict read lazily, entry by entry, through a DictIndex.
 */
import { decodeRaw } from "./decoder.js";
import { FilledOnDemand } from "./filled-on-demand.js";
import type { DictIndex } from "./dict-index.js";
import { type OriginDict, ORIGIN } from "./dict-origin.js";
import { RawElement, type TDict, type TKey, type TValue } from "./values.js";

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
export class IndexedDict extends FilledOnDemand {
  /** until filled: where the entries are */
  private index: DictIndex | null;
  /** until filled: the entries read or set so far */
  private readonly early = new Map<string, TValue>();
  /** what `unfilled` hands out */
  private unfilledView: { index: DictIndex; read: ReadonlyMap<string, TValue> } | undefined;

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
    if (this.index === null) return null;
    // asked of every flow written (and by `touched`): made once
    return (this.unfilledView ??= { index: this.index, read: this.early });
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

  /**
   * Fills the Map from the index, as decodeDict would have made it, with the entries read or
   * set since in place of their originals (new keys last, in the order they were set).
   */
  protected fill(): void {
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
