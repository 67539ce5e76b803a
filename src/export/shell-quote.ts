/** Quoting for a POSIX shell, as Python's `shlex.quote`: safe words as they are, the rest in single quotes. */

const SAFE = /^[\w@%+=:,./-]+$/;
/** C0 controls but tab and newline, DEL and C1 controls: what a terminal or a shell line must not get raw. */
export const UNPRINTABLE = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

/**
 * `text` as one shell word. Text with unprintable characters becomes bash's `$'...'` with
 * `\xNN` escapes, so that nothing raw reaches the terminal and the word still means the same.
 */
export function shellQuote(text: string): string {
  if (text === "") return "''";
  if (SAFE.test(text)) return text;
  if (UNPRINTABLE.test(text))
    return `$'${text.replace(/[\\']/g, (c) => `\\${c}`).replace(new RegExp(UNPRINTABLE.source, "g"), (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`)}'`;
  return `'${text.replace(/'/g, `'"'"'`)}'`;
}
