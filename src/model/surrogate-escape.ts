/**
 * Bytes <-> text the way mitmproxy turns header names and values, methods, paths and other
 * wire bytes into `str`: UTF-8 with Python's "surrogateescape" error handler. Every byte that
 * is not part of a valid UTF-8 sequence becomes the lone surrogate U+DC80..U+DCFF, and
 * encoding maps those back to the same byte, so any byte string survives the round trip.
 */
import { isAscii, isUtf8 } from "node:buffer";
import { internedAscii } from "../format/tnetstring.js";
import { asBuffer } from "./bytes.js";

/** A surrogate that is not half of a pair: what an escaped byte looks like. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Decodes bytes as UTF-8, escaping invalid bytes as U+DC80..U+DCFF (Python `surrogateescape`). */
export function decodeUtf8Escaped(bytes: Uint8Array): string {
  const buf = asBuffer(bytes);
  const short = internedAscii(buf, 0, buf.length);
  if (short !== undefined) return short;
  // Nearly everything on the wire is ASCII; latin1 is the cheapest exact decode for it.
  if (isAscii(buf)) return buf.toString("latin1");
  if (isUtf8(buf)) return buf.toString("utf8");
  return decodeSlow(buf);
}

/** Length of the valid UTF-8 sequence at `i` (Unicode table 3-7), or 0 when there is none. */
function sequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  const n = b.length - i;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return n >= 2 && cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0; // no encoded surrogates
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

function decodeSlow(b: Buffer): string {
  const parts: string[] = [];
  let runStart = 0;
  let i = 0;
  while (i < b.length) {
    const len = sequenceLength(b, i);
    if (len > 0) {
      i += len;
      continue;
    }
    // Python escapes each byte of an invalid sequence on its own, so one byte at a time is exact.
    if (runStart < i) parts.push(b.toString("utf8", runStart, i));
    parts.push(String.fromCharCode(0xdc00 + b[i]!));
    i++;
    runStart = i;
  }
  if (runStart < b.length) parts.push(b.toString("utf8", runStart));
  return parts.join("");
}

/**
 * Encodes text as UTF-8, turning U+DC80..U+DCFF back into the bytes they stand for.
 * Other lone surrogates cannot be encoded (as in Python) and raise a TypeError.
 */
export function encodeUtf8Escaped(text: string): Buffer {
  if (!LONE_SURROGATE.test(text)) return Buffer.from(text, "utf8");
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 0xdc80 && cp <= 0xdcff) out.push(cp - 0xdc00);
    else if (cp >= 0xd800 && cp <= 0xdfff)
      throw new TypeError(`cannot encode lone surrogate U+${cp.toString(16).toUpperCase()} as UTF-8`);
    else for (const byte of Buffer.from(ch, "utf8")) out.push(byte);
  }
  return Buffer.from(out);
}

/** True when the text holds a lone surrogate from an escaped byte (so it is not clean Unicode). */
export function hasEscapedBytes(text: string): boolean {
  return LONE_SURROGATE.test(text);
}
