/**
 * JSON text written straight into bytes, as `JSON.stringify` would write it and UTF-8 would
 * encode it: the JSON Lines writer builds each line here from the flow's stored bytes, with
 * no intermediate object, no stringified text encoded again, and bodies (most of the bytes)
 * escaped from their bytes in one pass.
 */
import { isUtf8 } from "node:buffer";

/** Bytes that JSON.stringify escapes: C0 controls, `"` and `\`. */
const NEEDS_ESCAPE = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) NEEDS_ESCAPE[c] = 1;
NEEDS_ESCAPE[0x22] = 1;
NEEDS_ESCAPE[0x5c] = 1;

/** The letter of a two-character escape (`\n`), 0 for those written `\u00XX`. */
const SHORT_ESCAPE = new Uint8Array(256);
SHORT_ESCAPE[0x22] = 0x22;
SHORT_ESCAPE[0x5c] = 0x5c;
SHORT_ESCAPE[0x08] = 0x62;
SHORT_ESCAPE[0x0c] = 0x66;
SHORT_ESCAPE[0x0a] = 0x6e;
SHORT_ESCAPE[0x0d] = 0x72;
SHORT_ESCAPE[0x09] = 0x74;

/** A byte's two-character escape as the 16-bit little-endian value that writes it (backslash first); 0 when it has none. */
const SHORT_ESCAPES = new Uint16Array(256);
for (let c = 0; c < 256; c++) if (SHORT_ESCAPE[c] !== 0) SHORT_ESCAPES[c] = 0x5c | (SHORT_ESCAPE[c]! << 8);

const HEX_DIGITS = Buffer.from("0123456789abcdef", "latin1");

/** Bytes made base64 at a time: a multiple of 3, so that the slices' base64 joins as the whole's. */
const BASE64_SLICE = 3 << 20;

/** Byte `c` of UTF-8 text into `buf` at `at`, escaped if JSON needs it; returns where it ended. */
function escapeByte(buf: Buffer, c: number, at: number): number {
  if (NEEDS_ESCAPE[c] === 0) {
    buf[at] = c;
    return at + 1;
  }
  buf[at++] = 0x5c;
  const letter = SHORT_ESCAPE[c]!;
  if (letter !== 0) buf[at++] = letter;
  else {
    buf[at++] = 0x75; // u00XX
    buf[at++] = 0x30;
    buf[at++] = 0x30;
    buf[at++] = HEX_DIGITS[c >> 4]!;
    buf[at++] = HEX_DIGITS[c & 15]!;
  }
  return at;
}

/** A growing buffer of JSON text, reused from line to line. */
export class JsonTextBytes {
  private buf: Buffer;
  private view: DataView;
  /** bytes written so far */
  at = 0;

  /** @param size the room to start with (it grows as needed) */
  constructor(size = 1 << 20) {
    this.buf = Buffer.allocUnsafe(size);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  /** The text written since the last `reset`: a view valid until the next write. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  /** Starts a new text in the same memory. */
  reset(): void {
    this.at = 0;
  }

  /** Room for `n` more bytes. */
  private reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
    this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.length);
  }

  /** Text that is JSON already and pure ASCII (punctuation, keys, numbers). */
  ascii(s: string): void {
    const n = s.length;
    this.reserve(n);
    if (n > 32) {
      this.at += this.buf.write(s, this.at, "latin1");
      return;
    }
    // short (most keys and values): a loop costs less than a call into the runtime
    const buf = this.buf;
    let at = this.at;
    for (let i = 0; i < n; i++) buf[at++] = s.charCodeAt(i);
    this.at = at;
  }

  /** Bytes that are JSON text already (another JsonTextBytes' text). */
  raw(src: Uint8Array): void {
    this.reserve(src.length);
    this.buf.set(src, this.at);
    this.at += src.length;
  }

  /** Text that is JSON already, of any characters (the output of JSON.stringify). */
  json(s: string): void {
    this.reserve(s.length * 3);
    this.at += this.buf.write(s, this.at, "utf8");
  }

  /** A number as JSON.stringify writes it (`null` for NaN and the infinities). */
  number(n: number): void {
    this.ascii(Number.isFinite(n) ? String(n) : "null");
  }

  /** A string as JSON.stringify writes it; printable ASCII (nearly every string) is copied as it is. */
  string(s: string): void {
    const n = s.length;
    this.reserve(n + 2);
    const buf = this.buf;
    let at = this.at;
    buf[at++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
        this.json(JSON.stringify(s)); // from the opening quote again
        return;
      }
      buf[at++] = c;
    }
    buf[at++] = 0x22;
    this.at = at;
  }

  /** A string, or null. */
  nullableString(s: string | null): void {
    if (s === null) this.ascii("null");
    else this.string(s);
  }

  /** A number, or null. */
  nullableNumber(n: number | null): void {
    if (n === null) this.ascii("null");
    else this.number(n);
  }

  /** A list of strings. */
  strings(list: readonly string[]): void {
    this.ascii("[");
    for (let i = 0; i < list.length; i++) {
      if (i) this.ascii(",");
      this.string(list[i]!);
    }
    this.ascii("]");
  }

  /**
   * Bytes `src[start..end)` that are valid UTF-8 as the JSON string of their text: the bytes
   * themselves, each control, `"` and `\` escaped (JSON.stringify escapes nothing else in
   * text without lone surrogates). Four bytes are tested at once: most need nothing, and of
   * those that hold a byte to escape, the bytes before it are kept as they were stored.
   */
  utf8String(src: Uint8Array, start = 0, end = src.length): void {
    this.reserve((end - start) * 6 + 2); // every byte a \u00XX at worst
    const buf = this.buf;
    const out = this.view;
    const from = new DataView(src.buffer, src.byteOffset, src.byteLength);
    let at = this.at;
    buf[at++] = 0x22;
    let i = start;
    while (i + 4 <= end) {
      const x = from.getUint32(i, true) | 0;
      const quote = x ^ 0x22222222;
      const backslash = x ^ 0x5c5c5c5c;
      // the bytes of x that are 0 after the xor, or below 0x20 (the classic "has zero/less byte"
      // tests): exact for the lowest such byte, bytes above it may be false hits
      const hits = (((quote - 0x01010101) & ~quote) | ((backslash - 0x01010101) & ~backslash) | ((x - 0x20202020) & ~x)) & 0x80808080;
      out.setUint32(at, x, true); // first byte lowest
      if (hits === 0) {
        at += 4;
        i += 4;
        continue;
      }
      const k = (31 - Math.clz32(hits & -hits)) >> 3; // the first byte to escape: those before it stay
      at += k;
      const c = src[i + k]!;
      const short = SHORT_ESCAPES[c]!;
      if (short !== 0) {
        out.setUint16(at, short, true);
        at += 2;
      } else at = escapeByte(buf, c, at);
      i += k + 1;
    }
    at = this.escapeRun(src, i, end, at);
    buf[at++] = 0x22;
    this.at = at;
  }

  /** `src[start..end)` escaped byte by byte into the buffer at `at`; returns where it ended. */
  private escapeRun(src: Uint8Array, start: number, end: number, at: number): number {
    const buf = this.buf;
    for (let i = start; i < end; i++) at = escapeByte(buf, src[i]!, at);
    return at;
  }

  /**
   * Bytes `src[start..end)` as the JSON string of their text when they are valid UTF-8 and
   * true; false (nothing written) when they are not, for the caller to decode them its way.
   */
  utf8StringIfValid(src: Buffer, start: number, end: number): boolean {
    const mark = this.at;
    this.reserve((end - start) * 6 + 2);
    const buf = this.buf;
    let at = mark;
    let high = 0;
    buf[at++] = 0x22;
    for (let i = start; i < end; i++) {
      const c = src[i]!;
      high |= c;
      at = escapeByte(buf, c, at);
    }
    buf[at++] = 0x22;
    if (high & 0x80 && !isUtf8(src.subarray(start, end))) return false;
    this.at = at;
    return true;
  }

  /**
   * Bytes as a JSON string of their base64, made a slice at a time: the base64 of a body of
   * over 384 MB is longer than any string V8 can make.
   */
  base64String(src: Buffer): void {
    this.reserve(Math.ceil(src.length / 3) * 4 + 2);
    const buf = this.buf;
    buf[this.at++] = 0x22;
    for (let i = 0; i < src.length; i += BASE64_SLICE)
      this.at += buf.write(src.toString("base64", i, Math.min(i + BASE64_SLICE, src.length)), this.at, "latin1");
    buf[this.at++] = 0x22;
  }
}
