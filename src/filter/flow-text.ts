/**
 * The texts filter regexes run over, built as mitmproxy builds them (flowfilter.py):
 * header blocks, Content-Type values, addresses, metadata lines, DNS records. Each is made
 * only when an operator asks for it. The DNS record text is also what `reflow show` and the
 * JSON Lines writer print (the model has no text form of a record yet).
 */
import { isUtf8 } from "node:buffer";
import type { Address, DNSMessage, DNSResourceRecord, Headers } from "../model/index.js";
import { internedAscii, type TValue } from "../format/tnetstring.js";
import { pythonStr } from "./python-str.js";
import { asBuffer } from "../model/bytes.js";

/**
 * Bytes as the text a JavaScript regex can search: UTF-8 when they are valid UTF-8 (so `é`
 * finds `é`), else one character per byte (so `\x89PNG` finds a PNG signature). ASCII reads
 * the same either way, which is what mitmproxy's byte regexes mostly see.
 */
export function bytesAsText(bytes: Uint8Array): string {
  const buf = asBuffer(bytes);
  return internedAscii(buf, 0, buf.length) ?? (isUtf8(buf) ? buf.toString("utf8") : buf.toString("latin1"));
}

/** The header block `Name: value\r\n` per field, names in their original case (`bytes(headers)`). */
export function headerBlockText(headers: Headers): string {
  return bytesAsText(headers.toBytes());
}

/** The values of every Content-Type field (each is matched on its own). */
export function contentTypeValues(headers: Headers): string[] {
  const out: string[] = [];
  for (const [name, value] of headers.fields) {
    if (name.length === 12 && name.toString("latin1").toLowerCase() === "content-type") out.push(bytesAsText(value));
  }
  return out;
}

/** An address as `host:port` (IPv6 without brackets, as mitmproxy formats it). */
export function addressText(address: Address): string {
  return `${address[0]}:${address[1]}`;
}

/** Metadata as `key: value` lines, values as Python's `str()` shows them. */
export function metadataText(metadata: Map<unknown, TValue>): string {
  const lines: string[] = [];
  for (const [key, value] of metadata) lines.push(`${pythonStr(key as TValue)}: ${pythonStr(value)}`);
  return lines.join("\n");
}

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
