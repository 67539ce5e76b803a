/** Numbers, addresses and raw text as people read them in a flow listing (as mitmdump shows them). */
import { isIPv4, isIPv6 } from "node:net";
import type { Address } from "../model/index.js";

/** A byte count in at most five characters: `580b`, `1.5k`, `120k`, `3.2m`. */
export function prettySize(size: number): string {
  if (size < 1024) return `${size}b`;
  let s = size;
  for (const suffix of ["k", "m", "g", "t"]) {
    s /= 1024;
    if (s < 99.95) return `${s.toFixed(1)}${suffix}`;
    if (s < 1024 || suffix === "t") return `${s.toFixed(0)}${suffix}`;
  }
  return `${size}b`;
}

/** `host:port`; IPv6 in brackets, IPv4-mapped IPv6 as IPv4, the unspecified address as `*`. */
export function formatAddress(address: Address | null): string {
  if (address === null) return "<no address>";
  const [host, port] = address;
  if (host === "0.0.0.0" || host === "::") return `*:${port}`;
  if (isIPv6(host)) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
    return mapped && isIPv4(mapped[1]!) ? `${mapped[1]}:${port}` : `[${host.toLowerCase()}]:${port}`;
  }
  return `${host}:${port}`;
}

/**
 * What must never reach a terminal raw: C0 controls but tab (ESC starts every escape sequence),
 * DEL and the C1 controls (U+0080–U+009F: 8-bit CSI and OSC), the Unicode bidi controls that
 * reorder what is shown (U+061C, U+200E/F, U+202A–U+202E, U+2066–U+2069), and U+E000, which
 * the listing uses internally to stand for its own colour codes (see Painter). Also the lone
 * surrogates U+DC80–U+DCFF, which stand for bytes that were not UTF-8 (surrogate-escape): a
 * terminal would get U+FFFD for each, whatever the byte; `\udc9b` tells them apart (as JUnit
 * reports write them).
 */
const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ue000]|(?<![\ud800-\udbff])[\udc80-\udcff]/g;
const UNSAFE_BUT_NEWLINE = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ue000]|(?<![\ud800-\udbff])[\udc80-\udcff]/g;

/** One character a terminal acts on, as UNSAFE but newline and U+E000: for text that escapes in its own syntax (a shell word). */
export const TERMINAL_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

function escapeChar(c: string): string {
  const code = c.charCodeAt(0);
  return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}

/**
 * Text from a file or the network made safe for a terminal: every character of UNSAFE as
 * `\xNN` or `\uNNNN` (newlines too: one field stays one line); tabs kept. Escaping twice
 * changes nothing more, so a layer may escape what an earlier one already did.
 */
export function escapeControl(text: string): string {
  UNSAFE.lastIndex = 0;
  return UNSAFE.test(text) ? text.replace(UNSAFE, escapeChar) : text;
}

/** As escapeControl, but newlines are kept (a multi-line message, a stack trace). */
export function escapeControlKeepingLines(text: string): string {
  UNSAFE_BUT_NEWLINE.lastIndex = 0;
  return UNSAFE_BUT_NEWLINE.test(text) ? text.replace(UNSAFE_BUT_NEWLINE, escapeChar) : text;
}

/**
 * Makes whole lines of a listing safe, keeping only the colour codes the listing painted
 * itself: those open with `mark` (a string no flow can know in advance, see listingMark),
 * which becomes ESC here; every other unsafe character is escaped, whatever field it came
 * from. The last line of defence behind the escaping of each field.
 */
export class TerminalLines {
  private readonly pattern: RegExp;

  constructor(private readonly mark: string) {
    this.pattern = new RegExp(`${mark}|${UNSAFE.source}`, "g");
  }

  /** The line with its marks made ESC and everything else unsafe escaped. */
  safe(line: string): string {
    this.pattern.lastIndex = 0;
    if (!this.pattern.test(line)) return line;
    return line.replace(this.pattern, (c) => (c === this.mark ? "\x1b" : escapeChar(c)));
  }
}

/** A colour-code marker for one process: U+E000 and random hex, unguessable by a flow's sender. */
export function listingMark(): string {
  return `\ue000${Math.random().toString(16).slice(2, 10)}\ue000`;
}
