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

/** Control characters (and DEL) as `\xNN`, so a hostile flow cannot drive the terminal; tabs kept. */
export function escapeControl(text: string): string {
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}
