/**
 * Requests that come back to the proxy that relayed them (a reverse or upstream target that
 * leads, through whatever, to the proxy itself): each relayed request carries this process's
 * `Via` token (RFC 9110 §7.6.3), and one that arrives with it is answered 508 Loop Detected
 * (RFC 5842 §7.2) instead of being relayed again, without end.
 */
import { randomBytes } from "node:crypto";
import { rawHeaderValue, withRawHeader } from "./header-pairs.js";

/** This process's pseudonym in `Via`: random, so that two reflow proxies in a chain differ. */
const VIA_TOKEN = `1.1 reflow-${randomBytes(6).toString("hex")}`;

/** True when a request's headers show it has been relayed by this very process already. */
export function cameBackToUs(rawHeaders: readonly string[]): boolean {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2)
    if (rawHeaders[i]!.toLowerCase() === "via" && rawHeaders[i + 1]!.includes(VIA_TOKEN)) return true;
  return false;
}

/** The headers to relay: `Via` with this process's token added (after any earlier proxies'). */
export function withViaToken(rawHeaders: readonly string[]): string[] {
  const via = rawHeaderValue(rawHeaders, "via");
  return withRawHeader(rawHeaders, "via", via ? `${via}, ${VIA_TOKEN}` : VIA_TOKEN);
}
