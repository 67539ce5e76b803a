/**
 * One string per distinct short ASCII text: most text in flows is the same few keys and
 * words in every flow, and handing out the string made last time saves making (and
 * collecting) one per flow.
 */

/** Slots of the table of short ASCII texts seen before (a power of two). */
const INTERN_SLOTS = 2048;
const internedTexts: (string | undefined)[] = new Array<string | undefined>(INTERN_SLOTS);

/** True when `text` (ASCII) spells the bytes from `start`. */
function spells(text: string, buf: Buffer, start: number): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) !== buf[start + i]) return false;
  return true;
}

/**
 * The text of short ASCII bytes (at most 32), the same string each time the same bytes come
 * back; undefined for anything longer or not ASCII. Most text in flows is short ASCII (dict
 * keys, methods, schemes, versions), the same few in every flow: handing out the string made
 * last time saves making, and later collecting, one string per flow.
 */
export function internedAscii(buf: Buffer, start: number, end: number): string | undefined {
  if (end - start > 32) return undefined;
  let hash = end - start;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x80) return undefined;
    hash = (Math.imul(hash, 31) + c) | 0;
  }
  const slot = hash & (INTERN_SLOTS - 1);
  const known = internedTexts[slot];
  if (known !== undefined && known.length === end - start && spells(known, buf, start)) return known;
  return (internedTexts[slot] = buf.toString("latin1", start, end));
}
