/**
 * DNS messages and records in words, as newest mitmproxy's `str()` writes them: what the
 * `~dns`-family filters match, and what `reflow show` and the JSON Lines writer print.
 */
import { isUtf8 } from "node:buffer";
import type { DNSMessage, DNSResourceRecord } from "./dns.js";

const DNS_TYPE = { A: 1, NS: 2, CNAME: 5, PTR: 12, TXT: 16, AAAA: 28 } as const;

/** DNS record types by name (the common ones). */
const DNS_TYPE_NAMES: Record<number, string> = {
  1: "A",
  2: "NS",
  5: "CNAME",
  6: "SOA",
  12: "PTR",
  15: "MX",
  16: "TXT",
  28: "AAAA",
  33: "SRV",
  64: "SVCB",
  65: "HTTPS",
  255: "ANY",
};

/** A DNS record type's name (`A`, `AAAA`…), `TYPEn` for others (RFC 3597). */
export const dnsTypeName = (type: number): string => DNS_TYPE_NAMES[type] ?? `TYPE${type}`;

/** A DNS message as newest mitmproxy's `str()`: question names and record data, one per CRLF line. */
export function dnsMessageText(message: DNSMessage): string {
  const lines = message.questions.map((q) => q.name);
  for (const rr of [...message.answers, ...message.authorities, ...message.additionals]) lines.push(recordDataText(rr));
  return lines.join("\r\n");
}

/** A record's data in words: addresses, names and text decoded, anything else as hex. */
export function recordDataText(rr: DNSResourceRecord): string {
  const d = rr.data;
  const hex = `0x${d.toString("hex")}`;
  switch (rr.type) {
    case DNS_TYPE.A:
      return d.length === 4 ? [...d].join(".") : `${hex} (invalid A data)`;
    case DNS_TYPE.AAAA:
      return d.length === 16 ? ipv6Text(d) : `${hex} (invalid AAAA data)`;
    case DNS_TYPE.NS:
    case DNS_TYPE.CNAME:
    case DNS_TYPE.PTR:
      return (
        domainNameText(d) ??
        `${hex} (invalid ${rr.type === DNS_TYPE.NS ? "NS" : rr.type === DNS_TYPE.PTR ? "PTR" : "CNAME"} data)`
      );
    case DNS_TYPE.TXT:
      return isUtf8(d) ? d.toString("utf8") : `${hex} (invalid TXT data)`;
    default:
      return hex;
  }
}

/** An uncompressed wire-format domain name (`3www7example3com0`) as dotted text, or null. */
function domainNameText(d: Buffer): string | null {
  const labels: string[] = [];
  let i = 0;
  while (i < d.length) {
    const len = d[i]!;
    if (len === 0) return i + 1 === d.length ? labels.join(".") : null;
    if (len > 63 || i + 1 + len > d.length) return null;
    labels.push(d.toString("latin1", i + 1, i + 1 + len));
    i += 1 + len;
  }
  return null;
}

/** RFC 5952 text of a 16-byte IPv6 address: lower-case hex, the longest run of zero groups as `::`. */
function ipv6Text(d: Buffer): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(d.readUInt16BE(i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}
