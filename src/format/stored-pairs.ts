/**
 * Header lists read where they are stored, whatever the format: a dict read lazily from a
 * mitm file (IndexedDict) or from a reflow msgpack record (PackedDict) hands out the byte
 * pairs of a list it has not decoded yet, so a lookup makes no element.
 */
import { PackedDict } from "./packed-dict.js";
import { type BytePairVisitor, IndexedDict, RawElement, setBytePairs, storedEntry, visitBytePairs } from "./tnetstring.js";
import type { TDict } from "./tnetstring.js";

/** Tells whether the pair whose name lies at `buf[nameStart, nameEnd)` is one being set. */
export type PairNameMatcher = (buf: Buffer, nameStart: number, nameEnd: number) => boolean;

/**
 * Visits the `[name, value]` byte pairs of `dict[key]` as stored. False when the list is
 * not stored bytes any more (decoded, set) or holds anything else: read it the usual way.
 */
export function visitStoredPairs(dict: TDict, key: string, visit: BytePairVisitor): boolean {
  if (dict instanceof PackedDict) return dict.visitStoredPairs(key, visit);
  const v = storedEntry(dict, key);
  return v instanceof RawElement && visitBytePairs(v, visit);
}

/**
 * Sets one name's values in the `[name, value]` byte pairs of `dict[key]` as stored, without
 * decoding the others (mitmproxy's `set_all`): the pairs whose name `matches` take `values` in
 * turn, keeping their name; the surplus ones are dropped; the surplus values are appended
 * named `name`. The list is written anew as bytes, as the writer would write the decoded list
 * so changed, so a script that sets one header pays neither for decoding the others nor for
 * encoding them again. Gives how many pairs matched (replaced or dropped), or -1 when the
 * list is not stored so: the caller then edits the decoded list.
 */
export function setStoredPairs(dict: TDict, key: string, matches: PairNameMatcher, name: Buffer, values: readonly Buffer[]): number {
  let matched = 0;
  const counted: PairNameMatcher = (buf, start, end) => matches(buf, start, end) && ++matched > 0;
  // removing a name the list lacks changes nothing: the flow stays as read (written as its bytes)
  if (dict instanceof PackedDict) {
    const edited = dict.editedPairs(key, counted, name, values);
    if (!edited) return -1;
    if (matched > 0 || values.length > 0) dict.setPacked(key, edited);
    return matched;
  }
  // an IndexedDict parses what it holds raw whenever it is read; another dict might hand it out raw
  if (!(dict instanceof IndexedDict)) return -1;
  const stored = storedEntry(dict, key);
  const edited = stored instanceof RawElement ? setBytePairs(stored, counted, name, values) : null;
  if (!edited) return -1;
  if (matched > 0 || values.length > 0) dict.set(key, RawElement.of(edited));
  return matched;
}
