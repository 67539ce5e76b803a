/** Quoting for a POSIX shell, as Python's `shlex.quote`: safe words as they are, the rest in single quotes. */
import { TERMINAL_CONTROL } from "../display/human.js";

const SAFE = /^[\w@%+=:,./-]+$/;
/** C0 controls but tab and newline, DEL and C1 controls: what a terminal or a shell line must not get raw. */
export const UNPRINTABLE = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

/**
 * What a word writes as `\xNN` escapes in bash's `$'...'`: every character a terminal acts on
 * (the bidi controls too, which would make the line read otherwise than it runs), and the
 * lone surrogates U+DC80–U+DCFF, which stand for bytes that were not UTF-8 (surrogate-escape).
 */
const ESCAPED = new RegExp(`${TERMINAL_CONTROL.source}|(?<![\\ud800-\\udbff])[\\udc80-\\udcff]`, "g");

const hexByte = (b: number): string => `\\x${b.toString(16).padStart(2, "0")}`;

/**
 * The bytes `c` stands for, as escapes: its UTF-8 bytes (so U+009B is `\xc2\x9b`, never the
 * lone byte 0x9B), or the escaped byte itself. Bytes rather than bash's `\u`, which depends
 * on the locale: the word means the same bytes wherever it is pasted.
 */
function escapeBytes(c: string): string {
  const code = c.charCodeAt(0);
  if (code >= 0xdc80 && code <= 0xdcff) return hexByte(code - 0xdc00);
  return [...Buffer.from(c, "utf8")].map(hexByte).join("");
}

/**
 * `text` as one shell word. Text with a character of ESCAPED becomes bash's `$'...'` with
 * `\xNN` escapes, so that nothing raw reaches the terminal and the word still means the same
 * bytes.
 */
export function shellQuote(text: string): string {
  if (text === "") return "''";
  if (SAFE.test(text)) return text;
  ESCAPED.lastIndex = 0;
  if (ESCAPED.test(text)) return `$'${text.replace(/[\\']/g, (c) => `\\${c}`).replace(ESCAPED, escapeBytes)}'`;
  return `'${text.replace(/'/g, `'"'"'`)}'`;
}
