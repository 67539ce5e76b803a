/**
 * JSON (and other text) made safe for a terminal. JSON escapes the C0 controls, ESC among
 * them, but leaves DEL, the C1 controls (U+0080–U+009F: 8-bit CSI and OSC, which terminals
 * act on) and the Unicode bidi controls (which reorder what is shown) as they are. Written
 * as `\uXXXX`, they are the same JSON and nothing a terminal acts on. Text the display made
 * is escaped already and passes unchanged.
 */

const UNSAFE = /[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_BYTE = /[\x7f\xc2\xd8\xe2]/; // DEL, or a lead byte of one of the above in UTF-8

const escape = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;

/** `text` with every character a terminal would act on written as a JSON `\uXXXX` escape. */
export function terminalSafeText(text: string): string {
  return text.replace(UNSAFE, escape);
}

/** UTF-8 `bytes` as terminalSafeText writes them; the same bytes when nothing needs escaping. */
export function terminalSafeBytes(bytes: Uint8Array): Uint8Array {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (!UNSAFE_BYTE.test(buf.toString("latin1"))) return bytes;
  return Buffer.from(terminalSafeText(buf.toString("utf8")), "utf8");
}
