/**
 * The values of a decoded tnetstring: a self-describing tree, so re-encoding needs no schema
 * (the table of tags and types is in ../tnetstring.ts).
 */

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
