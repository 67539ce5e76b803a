/**
 * A dictionary that keeps several values per key, in order (mitmproxy's `MultiDict` and
 * `MultiDictView`): the shape of query strings, cookies and form bodies.
 */

/** One `[key, value]` entry. */
export type MultiDictField<V> = [string, V];

/**
 * The shared behaviour. `get` returns the first value of a key (subclasses may reduce
 * differently), `set` replaces every value of a key keeping the first one's place,
 * iteration yields every `[key, value]` in order; `keys()` yields each distinct key once.
 */
export abstract class MultiDictBase<V> implements Iterable<MultiDictField<V>> {
  /** The current entries. */
  protected abstract readFields(): MultiDictField<V>[];
  /** Stores a new list of entries. */
  protected abstract writeFields(fields: MultiDictField<V>[]): void;

  /** The form keys are compared in (identity: keys are case-sensitive). */
  protected keyOf(key: string): string {
    return key;
  }

  /** What `get` returns for a key with several values: the first. */
  protected reduce(values: V[]): V {
    return values[0]!;
  }

  /** The entries as a fresh list of `[key, value]`. */
  get fields(): MultiDictField<V>[] {
    return this.readFields().map(([k, v]) => [k, v]);
  }

  set fields(fields: Iterable<readonly [string, V]>) {
    this.writeFields([...fields].map(([k, v]) => [k, v]));
  }

  /** Number of distinct keys. */
  get size(): number {
    return new Set(this.readFields().map(([k]) => this.keyOf(k))).size;
  }

  /** Number of entries (repeats counted). */
  get length(): number {
    return this.readFields().length;
  }

  /** The value of `key` (the first one, unless the kind of dict says otherwise), or undefined. */
  get(key: string): V | undefined {
    const all = this.getAll(key);
    return all.length ? this.reduce(all) : undefined;
  }

  /** Every value of `key`, in order. */
  getAll(key: string): V[] {
    const k = this.keyOf(key);
    return this.readFields()
      .filter(([x]) => this.keyOf(x) === k)
      .map(([, v]) => v);
  }

  /** True when `key` has at least one value. */
  has(key: string): boolean {
    const k = this.keyOf(key);
    return this.readFields().some(([x]) => this.keyOf(x) === k);
  }

  /** Replaces every value of `key` with `value`. */
  set(key: string, value: V): this {
    return this.setAll(key, [value]);
  }

  /**
   * Sets the values of `key`: existing entries take the new values in order (keeping their
   * place), surplus entries are removed, surplus values appended.
   */
  setAll(key: string, values: Iterable<V>): this {
    const k = this.keyOf(key);
    const vals = [...values];
    const out: MultiDictField<V>[] = [];
    for (const [x, v] of this.readFields()) {
      if (this.keyOf(x) === k) {
        if (vals.length) out.push([x, vals.shift()!]);
      } else out.push([x, v]);
    }
    for (const v of vals) out.push([key, v]);
    this.writeFields(out);
    return this;
  }

  /** Appends a value for `key`. */
  add(key: string, value: V): this {
    return this.insert(this.length, key, value);
  }

  /** Inserts an entry at `index`. */
  insert(index: number, key: string, value: V): this {
    const fields = this.readFields().slice();
    fields.splice(index, 0, [key, value]);
    this.writeFields(fields);
    return this;
  }

  /** Removes every value of `key`; true if there was one. */
  delete(key: string): boolean {
    const k = this.keyOf(key);
    const fields = this.readFields();
    const kept = fields.filter(([x]) => this.keyOf(x) !== k);
    if (kept.length === fields.length) return false;
    this.writeFields(kept);
    return true;
  }

  /** Removes all entries. */
  clear(): void {
    this.writeFields([]);
  }

  /** Each distinct key once, as first seen. */
  *keys(): IterableIterator<string> {
    const seen = new Set<string>();
    for (const [k] of this.readFields()) {
      const c = this.keyOf(k);
      if (seen.has(c)) continue;
      seen.add(c);
      yield k;
    }
  }

  /** Every value, in order. */
  *values(): IterableIterator<V> {
    for (const [, v] of this.readFields()) yield v;
  }

  /** Every `[key, value]` entry, in order. */
  *entries(): IterableIterator<MultiDictField<V>> {
    for (const [k, v] of this.readFields()) yield [k, v];
  }

  [Symbol.iterator](): IterableIterator<MultiDictField<V>> {
    return this.entries();
  }

  /** A plain object of each key's `get` value. */
  toObject(): Record<string, V> {
    const out: Record<string, V> = {};
    for (const k of this.keys()) out[k] = this.get(k)!;
    return out;
  }

  /** The entries as `[key, value]` pairs (for JSON.stringify). */
  toJSON(): MultiDictField<V>[] {
    return this.fields;
  }

  /** A detached copy holding the current entries. */
  copy(): MultiDict<V> {
    return new MultiDict(this.readFields());
  }
}

/** A multi-dict holding its own entries. */
export class MultiDict<V> extends MultiDictBase<V> {
  private items: MultiDictField<V>[];

  constructor(fields: Iterable<readonly [string, V]> = []) {
    super();
    this.items = [...fields].map(([k, v]) => [k, v]);
  }

  protected readFields(): MultiDictField<V>[] {
    return this.items;
  }

  protected writeFields(fields: MultiDictField<V>[]): void {
    this.items = fields;
  }
}

/**
 * A multi-dict computed from something else (a URL's query, a Cookie header, a form body):
 * it holds nothing itself, reads through `getter` and writes every change back through `setter`.
 */
export class MultiDictView<V> extends MultiDictBase<V> {
  constructor(
    private readonly getter: () => MultiDictField<V>[],
    private readonly setter: (fields: MultiDictField<V>[]) => void,
  ) {
    super();
  }

  protected readFields(): MultiDictField<V>[] {
    return this.getter();
  }

  protected writeFields(fields: MultiDictField<V>[]): void {
    this.setter(fields);
  }
}
