/**
 * Cookie and Set-Cookie header values, parsed as permissively as mitmproxy's
 * `net/http/cookies.py`: malformed input is kept rather than refused, duplicates are kept,
 * and the comma-separated form of Set-Cookie (several cookies in one header) is understood.
 */
import { MultiDict } from "./multidict.js";

/** Attributes of a Set-Cookie cookie: names compared case-insensitively, the last value wins; flags have a null value. */
export class CookieAttrs extends MultiDict<string | null> {
  protected override keyOf(key: string): string {
    return key.toLowerCase();
  }

  // A cookie seen with a repeated attribute only makes sense read from its last part.
  protected override reduce(values: (string | null)[]): string | null {
    return values[values.length - 1]!;
  }
}

/** One cookie of a Set-Cookie header: name, value (null when there was no `=`), attributes. */
export type SetCookie = [name: string, value: string | null, attrs: CookieAttrs];

/** Reads up to (not including) the first character of `term`; returns the text and where it stopped. */
function readUntil(s: string, start: number, term: string): [string, number] {
  if (start === s.length) return ["", start + 1];
  for (let i = start; i < s.length; i++) if (term.includes(s[i]!)) return [s.slice(start, i), i];
  return [s.slice(start), s.length];
}

/** Reads a quoted string starting at its opening quote; backslash escapes the next character. */
function readQuoted(s: string, start: number): [string, number] {
  let escaping = false;
  let out = "";
  let i = start;
  for (i = start + 1; i < s.length; i++) {
    const c = s[i]!;
    if (escaping) {
      out += c;
      escaping = false;
    } else if (c === '"') break;
    else if (c === "\\") escaping = true;
    else out += c;
  }
  // Without a closing quote the loop ran off the end; mitmproxy then reports one past the last char.
  return [out, Math.min(i, s.length - 1) + 1];
}

function readValue(s: string, start: number, delims: string): [string, number] {
  if (start >= s.length) return ["", start];
  if (s[start] === '"') return readQuoted(s, start);
  return readUntil(s, start, delims);
}

/** Name/value pairs of a Cookie header value (`a=b; c=d`). */
export function parseCookieHeader(line: string): [string, string][] {
  const pairs: [string, string][] = [];
  let off = 0;
  for (;;) {
    let lhs: string;
    [lhs, off] = readUntil(line, off, ";=");
    lhs = lhs.replace(/^\s+/, "");
    let rhs = "";
    if (off < line.length && line[off] === "=") [rhs, off] = readValue(line, off + 1, ";");
    if (rhs || lhs) pairs.push([lhs, rhs]);
    off++;
    if (!(off < line.length)) break;
  }
  return pairs;
}

/** Name/value pairs of several Cookie headers, in order. */
export function parseCookieHeaders(lines: Iterable<string>): [string, string][] {
  return [...lines].flatMap(parseCookieHeader);
}

function hasSpecial(s: string): boolean {
  for (const c of s) {
    if ('",;\\'.includes(c)) return true;
    const o = c.codePointAt(0)!;
    if (o < 0x21 || o > 0x7e) return true;
  }
  return false;
}

/** Joins pairs, quoting (with backslash escapes) values that need it, except for keys in `specials`. */
function formatPairs(
  pairs: Iterable<readonly [string, string | null]>,
  specials: readonly string[] = [],
  sep = "; ",
): string {
  const vals: string[] = [];
  for (const [k, v] of pairs) {
    if (v === null) vals.push(k);
    else if (!specials.includes(k.toLowerCase()) && hasSpecial(v)) vals.push(`${k}="${v.replace(/(["\\])/g, "\\$1")}"`);
    else vals.push(`${k}=${v}`);
  }
  return vals.join(sep);
}

/** A Cookie header value from name/value pairs. */
export function formatCookieHeader(pairs: Iterable<readonly [string, string]>): string {
  return formatPairs(pairs);
}

/** Splits a Set-Cookie value into cookies (a comma starts a new one, except inside `expires`). */
function readSetCookiePairs(s: string): [string, string | null][][] {
  const cookies: [string, string | null][][] = [];
  let pairs: [string, string | null][] = [];
  let off = 0;
  for (;;) {
    let lhs: string;
    [lhs, off] = readUntil(s, off, ";=,");
    lhs = lhs.replace(/^\s+/, "");
    if (off < s.length && s[off] === "=") {
      let rhs: string;
      [rhs, off] = readValue(s, off + 1, ";,");
      // An expires date has a comma in it ("Wed, 21 Oct …"): a short value means we stopped at it.
      if (lhs.toLowerCase() === "expires" && rhs.length <= 3) {
        let trail: string;
        [trail, off] = readValue(s, off + 1, ";,");
        rhs = `${rhs},${trail}`;
      }
      pairs.push([lhs, rhs]);
    } else if (lhs) pairs.push([lhs, null]);
    if (off < s.length && s[off] === ",") {
      cookies.push(pairs);
      pairs = [];
    }
    off++;
    if (!(off < s.length)) break;
  }
  if (pairs.length || !cookies.length) cookies.push(pairs);
  return cookies;
}

/** The cookies of one Set-Cookie header value. */
export function parseSetCookieHeader(line: string): SetCookie[] {
  return readSetCookiePairs(line)
    .filter((pairs) => pairs.length)
    .map(([first, ...attrs]) => [first![0], first![1], new CookieAttrs(attrs)]);
}

/** The cookies of several Set-Cookie headers, in order. */
export function parseSetCookieHeaders(lines: Iterable<string>): SetCookie[] {
  return [...lines].flatMap(parseSetCookieHeader);
}

/** A Set-Cookie header value for cookies (several are joined with ", "). */
export function formatSetCookieHeader(
  cookies: Iterable<readonly [string, string | null, Iterable<readonly [string, string | null]>]>,
): string {
  return [...cookies]
    .map(([name, value, attrs]) =>
      formatPairs([[name, value], ...(attrs instanceof CookieAttrs ? attrs.fields : attrs)], ["expires", "path"]),
    )
    .join(", ");
}
