/**
 * The few DER encodings (ITU-T X.690) a leaf certificate needs, so that per-host
 * certificates are assembled from bytes and signed with Node's crypto in well under a
 * millisecond (building them through an ASN.1 object model took several).
 */

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** A TLV with tag `tag` around `content`. */
export function tlv(tag: number, ...content: Buffer[]): Buffer {
  const body = content.length === 1 ? content[0]! : Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, ...items);
export const set = (...items: Buffer[]): Buffer => tlv(0x31, ...items);
export const octetString = (b: Buffer): Buffer => tlv(0x04, b);
export const utf8String = (s: string): Buffer => tlv(0x0c, Buffer.from(s, "utf8"));
export const booleanTrue = (): Buffer => Buffer.from([0x01, 0x01, 0xff]);
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);
/** A BIT STRING with no unused bits. */
export const bitString = (b: Buffer): Buffer => tlv(0x03, Buffer.from([0]), b);
/** `[n]` EXPLICIT, constructed. */
export const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner);

/** A positive INTEGER from big-endian magnitude bytes. */
export function positiveInteger(magnitude: Buffer): Buffer {
  let b = magnitude;
  while (b.length > 1 && b[0] === 0 && b[1]! < 0x80) b = b.subarray(1);
  if (b[0]! >= 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

/** An OBJECT IDENTIFIER from dotted text. */
export function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const out = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** A Time (RFC 5280 §4.1.2.5): UTCTime through 2049, GeneralizedTime after. */
export function time(d: Date): Buffer {
  const iso = d.toISOString(); // 2026-11-21T05:16:45.123Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, "") + "Z"; // 20261121051645Z
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(digits.slice(2), "ascii")) : tlv(0x18, Buffer.from(digits, "ascii"));
}

/** Splits the TLV at `pos` of `der`: its tag, and where its content starts and ends. */
export function readTlv(der: Buffer, pos: number): { tag: number; start: number; end: number } {
  const tag = der[pos]!;
  let len = der[pos + 1]!;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  return { tag, start, end: start + len };
}
