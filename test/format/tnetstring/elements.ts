/** Helpers for the tnetstring tests: latin-1 bytes, and a flow file split into its elements. */
import { spanAt } from "../../../src/format/tnetstring.js";

/** Bytes of a latin-1 string. */
export const b = (s: string): Buffer => Buffer.from(s, "latin1");

/** Splits a flow file into the byte ranges of its top-level elements. */
export function elements(file: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < file.length;) {
    const s = spanAt(file, pos, file.length);
    out.push(file.subarray(pos, s.next));
    pos = s.next;
  }
  return out;
}
