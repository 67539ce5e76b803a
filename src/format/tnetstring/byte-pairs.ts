/**
 * Header lists read in place: `[[name, value], …]` of byte strings, visited by position
 * without making any element.
 */
import { TAG_BYTES, TAG_LIST, payloadEnd, payloadStart } from "./element.js";
import { TnetstringError } from "./tnetstring-error.js";
import type { RawElement } from "./values.js";

/** Where a pair's two byte strings lie in `buf`, as visitBytePairs hands them out. */
export type BytePairVisitor = (
  buf: Buffer,
  nameStart: number,
  nameEnd: number,
  valueStart: number,
  valueEnd: number,
) => void;

/**
 * Visits every item of the raw list `raw` that is a pair of byte strings (how headers are
 * stored: `[[name, value], …]`), reading only lengths and tags: no element is made. Returns
 * false, having visited some items or none, when the list holds anything else or is
 * malformed; the caller then decodes it the usual way, which reports what is wrong.
 */
export function visitBytePairs(raw: RawElement, visit: BytePairVisitor): boolean {
  const buf = raw.source;
  try {
    const end = payloadEnd(buf, raw.start, raw.end);
    if (buf[end] !== TAG_LIST || end + 1 !== raw.end) return false;
    for (let pos = payloadStart; pos < end;) {
      const itemEnd = payloadEnd(buf, pos, end);
      if (buf[itemEnd] !== TAG_LIST) return false;
      const nameEnd = payloadEnd(buf, payloadStart, itemEnd);
      const nameStart = payloadStart;
      if (buf[nameEnd] !== TAG_BYTES || nameEnd + 1 >= itemEnd) return false;
      const valueEnd = payloadEnd(buf, nameEnd + 1, itemEnd);
      if (buf[valueEnd] !== TAG_BYTES || valueEnd + 1 !== itemEnd) return false;
      visit(buf, nameStart, nameEnd, payloadStart, valueEnd);
      pos = itemEnd + 1;
    }
    return true;
  } catch (e) {
    if (e instanceof TnetstringError) return false;
    throw e;
  }
}
