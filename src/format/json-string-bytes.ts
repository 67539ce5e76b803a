/**
 * JSON string values as bytes, never JS strings: a 1 GB HAR's bodies are ~1 GB of text,
 * and made into strings (some past V8's large-object size, which the young generation's
 * next collection moves straight to the old one) they grew the heap far past what is live.
 * The HAR reader makes a body from a string's bytes (the writer's way back is
 * io/formats/json-text-bytes.ts).
 */

const BACKSLASH = 0x5c;

/** hex digit values; -1 for any other byte */
const HEX = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX[0x30 + i] = i;
for (let i = 0; i < 6; i++) HEX[0x41 + i] = HEX[0x61 + i] = 10 + i;

/** The byte an escape `\x` stands for, or -1 (`u` is read apart). */
const SIMPLE_ESCAPE = new Int16Array(256).fill(-1);
SIMPLE_ESCAPE[0x22] = 0x22; // \"
SIMPLE_ESCAPE[0x5c] = 0x5c; // \\
SIMPLE_ESCAPE[0x2f] = 0x2f; // \/
SIMPLE_ESCAPE[0x62] = 0x08; // \b
SIMPLE_ESCAPE[0x66] = 0x0c; // \f
SIMPLE_ESCAPE[0x6e] = 0x0a; // \n
SIMPLE_ESCAPE[0x72] = 0x0d; // \r
SIMPLE_ESCAPE[0x74] = 0x09; // \t

/** The code unit of `\uXXXX` at `at` (the backslash), or -1 when it is not one. */
function unitAt(raw: Uint8Array, at: number): number {
  if (at + 6 > raw.length || raw[at] !== BACKSLASH || raw[at + 1] !== 0x75) return -1;
  const a = HEX[raw[at + 2]!]!;
  const b = HEX[raw[at + 3]!]!;
  const c = HEX[raw[at + 4]!]!;
  const d = HEX[raw[at + 5]!]!;
  return (a | b | c | d) < 0 ? -1 : (a << 12) | (b << 8) | (c << 4) | d;
}

/**
 * The UTF-8 bytes of a JSON string's content (the bytes between its quotes, escapes
 * resolved), or null when they cannot say the same: a bad escape (damage, left for
 * JSON.parse to name) or a lone surrogate (no UTF-8 for it).
 */
export function unescapeJsonString(raw: Uint8Array): Buffer | null {
  const n = raw.length;
  const out = Buffer.allocUnsafe(n); // escapes only shrink: `\n` is 1 byte, `\uXXXX` at most 3
  let o = 0;
  let i = 0;
  // byte by byte: a native copy per stretch between escapes costs more when escapes are
  // dense (a JSON body's every quote is one)
  while (i < n) {
    const c = raw[i]!;
    if (c !== BACKSLASH) {
      out[o++] = c;
      i++;
      continue;
    }
    const simple = SIMPLE_ESCAPE[raw[i + 1] ?? 0]!;
    if (simple >= 0) {
      out[o++] = simple;
      i += 2;
      continue;
    }
    let cp = unitAt(raw, i);
    if (cp < 0) return null;
    i += 6;
    if (cp >= 0xd800 && cp <= 0xdbff) {
      const low = unitAt(raw, i);
      if (low < 0xdc00 || low > 0xdfff) return null;
      cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
      i += 6;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) return null;
    if (cp < 0x80) out[o++] = cp;
    else if (cp < 0x800) {
      out[o++] = 0xc0 | (cp >> 6);
      out[o++] = 0x80 | (cp & 0x3f);
    } else if (cp < 0x10000) {
      out[o++] = 0xe0 | (cp >> 12);
      out[o++] = 0x80 | ((cp >> 6) & 0x3f);
      out[o++] = 0x80 | (cp & 0x3f);
    } else {
      out[o++] = 0xf0 | (cp >> 18);
      out[o++] = 0x80 | ((cp >> 12) & 0x3f);
      out[o++] = 0x80 | ((cp >> 6) & 0x3f);
      out[o++] = 0x80 | (cp & 0x3f);
    }
  }
  return out.subarray(0, o);
}

/**
 * A JSON string value as the UTF-8 bytes of its text (valid UTF-8: a string whose bytes are
 * not stays a JS string). `utf8` may view the read chunk: copy what is kept.
 */
export class LongJsonString {
  constructor(readonly utf8: Buffer) {}

  /** The text as a JS string (for the rare body that the bytes cannot serve). */
  toString(): string {
    return this.utf8.toString("utf8");
  }
}
