/**
 * What a shallowly decoded dict remembers of the bytes it was read from, so the encoder can
 * copy the entries nobody changed.
 */
import type { TDict, TKey, TValue } from "./values.js";

/**
 * The original entries of a shallowly decoded dict (decodeShallowDict, a filled
 * IndexedDict): entry `i` (in file order) is `keys[i]`, read as `values[i]` from bytes
 * `starts[i]` to `starts[i + 1]` of `buf`.
 */
export interface DictOrigin {
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
export const ORIGIN = Symbol("tnetstring origin");

/** A dict that may carry its origin (only shallowly decoded ones do). */
export type OriginDict = TDict & { [ORIGIN]?: DictOrigin };
