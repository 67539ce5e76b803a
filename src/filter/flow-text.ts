/**
 * The texts filter regexes run over, built as mitmproxy builds them (flowfilter.py):
 * header blocks, Content-Type values, addresses, metadata lines. Each is made
 * only when an operator asks for it. DNS messages are matched as the model's text of them
 * (model/dns-text.ts).
 */
import { isUtf8 } from "node:buffer";
import type { Address, Headers } from "../model/index.js";
import { internedAscii, type TValue } from "../format/tnetstring.js";
import { pythonStr } from "../format/python-str.js";
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
