/**
 * Header lists read where they are stored, whatever the format: a dict read lazily from a
 * mitm file (IndexedDict) or from a reflow msgpack record (PackedDict) hands out the byte
 * pairs of a list it has not decoded yet, so a lookup makes no element.
 */
import { PackedDict } from "./packed-dict.js";
import { type BytePairVisitor, RawElement, storedEntry, visitBytePairs } from "./tnetstring.js";
import type { TDict } from "./tnetstring.js";

/**
 * Visits the `[name, value]` byte pairs of `dict[key]` as stored. False when the list is
 * not stored bytes any more (decoded, set) or holds anything else: read it the usual way.
 */
export function visitStoredPairs(dict: TDict, key: string, visit: BytePairVisitor): boolean {
  if (dict instanceof PackedDict) return dict.visitStoredPairs(key, visit);
  const v = storedEntry(dict, key);
  return v instanceof RawElement && visitBytePairs(v, visit);
}
