/**
 * `--refresh`: a recorded response made to look as fresh as when it was recorded, as
 * mitmproxy's `Response.refresh`: Date, Expires and Last-Modified, and the `expires` of
 * every Set-Cookie cookie, moved forward by the time since the response was recorded.
 */
import { type HeaderField, formatSetCookieHeader, parseSetCookieHeader } from "../model/index.js";

const DATE_HEADERS = new Set(["date", "expires", "last-modified"]);

/**
 * A month name and a time of day: what every HTTP date form has (RFC 9110 §5.6.7). Date.parse
 * alone takes "0" (a common `Expires`, "already expired") for the year 2000.
 */
const LOOKS_LIKE_DATE = /\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b.*\d{1,2}:\d{2}/i;

/** An HTTP date moved by `delta` seconds; null when `text` is not a date. */
function shiftDate(text: string, delta: number): string | null {
  if (!LOOKS_LIKE_DATE.test(text)) return null;
  const t = Date.parse(text);
  if (Number.isNaN(t)) return null;
  // formatdate(usegmt=True): whole seconds, "Sun, 06 Nov 1994 08:49:37 GMT" (RFC 9110 §5.6.7)
  return new Date(Math.floor(t / 1000 + delta) * 1000).toUTCString();
}

/** A Set-Cookie value with its cookies' expiry moved; unchanged when a cookie has no name or value. */
function shiftSetCookie(value: string, delta: number): string {
  const cookies = parseSetCookieHeader(value);
  if (cookies.some(([name, v]) => !name || !v)) return value;
  for (const [, , attrs] of cookies) {
    const expires = attrs.get("expires");
    if (expires === undefined) continue;
    const shifted = expires === null ? null : shiftDate(expires, delta);
    // An expiry that is not a date is dropped, as mitmproxy drops it.
    if (shifted === null) attrs.delete("expires");
    else attrs.set("expires", shifted);
  }
  return formatSetCookieHeader(cookies);
}

/** The headers of a response recorded `delta` seconds ago, refreshed; the others as they were. */
export function refreshHeaders(headers: readonly HeaderField[], delta: number): HeaderField[] {
  return headers.map((pair) => {
    const name = pair[0].toString("latin1").toLowerCase();
    if (DATE_HEADERS.has(name)) {
      const shifted = shiftDate(pair[1].toString("latin1"), delta);
      return shifted === null ? pair : [pair[0], Buffer.from(shifted, "latin1")];
    }
    if (name === "set-cookie") return [pair[0], Buffer.from(shiftSetCookie(pair[1].toString("latin1"), delta), "latin1")];
    return pair;
  });
}
