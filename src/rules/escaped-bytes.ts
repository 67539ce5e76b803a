/**
 * Rule subjects and values as mitmproxy reads them: Python's `codecs.escape_decode` of the
 * text's UTF-8 (`\n`, `\t`, `\x00`, `\101`...). Unknown escapes such as `\d` keep their
 * backslash, so regexes pass through unharmed.
 */

const SIMPLE: Record<string, number> = { "\\": 0x5c, "'": 0x27, '"': 0x22, a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };

/** Thrown for `\x` without two hex digits and a trailing lone backslash; `at` is the column in the text. */
export class EscapeError extends Error {
  constructor(
    readonly at: number,
    message: string,
  ) {
    super(message);
  }
}

/** The bytes `text` stands for, escapes decoded. */
export function escapedBytes(text: string): Buffer {
  if (!text.includes("\\")) return Buffer.from(text, "utf8");
  const out: number[] = [];
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    if (c !== "\\") {
      const cp = text.codePointAt(i)!;
      const len = cp > 0xffff ? 2 : 1;
      out.push(...Buffer.from(text.slice(i, i + len), "utf8"));
      i += len;
      continue;
    }
    const next = text[i + 1];
    if (next === undefined) throw new EscapeError(i, "trailing \\ in the text");
    if (next in SIMPLE) {
      out.push(SIMPLE[next]!);
      i += 2;
    } else if (next === "\n") {
      i += 2; // a line continuation
    } else if (next === "x") {
      const hex = text.slice(i + 2, i + 4);
      if (!/^[0-9a-fA-F]{2}$/.test(hex)) throw new EscapeError(i, "invalid \\x escape (two hex digits expected)");
      out.push(parseInt(hex, 16));
      i += 4;
    } else if (/[0-7]/.test(next)) {
      const oct = /^[0-7]{1,3}/.exec(text.slice(i + 1))![0];
      out.push(parseInt(oct, 8) & 0xff);
      i += 1 + oct.length;
    } else {
      out.push(0x5c);
      i += 1; // the character after the backslash is copied as it is
    }
  }
  return Buffer.from(out);
}
