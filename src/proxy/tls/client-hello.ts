/**
 * Reading a TLS ClientHello before answering it (RFC 8446 §4.1.2, RFC 6066 §3 for SNI,
 * RFC 7301 for ALPN): the server name picks the certificate, the ALPN offers are recorded.
 */

/** What the proxy needs from a ClientHello. */
export interface ClientHello {
  /** the server_name extension's host name, if sent */
  sni: string | null;
  /** the application_layer_protocol_negotiation offers, in order */
  alpnOffers: Buffer[];
}

const HANDSHAKE = 0x16;
const CLIENT_HELLO = 0x01;
const EXT_SERVER_NAME = 0x0000;
const EXT_ALPN = 0x0010;

/** True when these first bytes of a connection start a TLS handshake record. */
export function looksLikeTls(first: Buffer): boolean {
  // A record header: type 22, legacy version 3.x (SSL 3.0 to TLS 1.3 all say 3.x).
  return first.length > 0 && first[0] === HANDSHAKE && (first.length < 2 || first[1] === 0x03);
}

/**
 * How many bytes the ClientHello needs in all (record headers included), or 0 when
 * `buf` does not hold enough to know yet. Handshake messages may span several records.
 */
export function clientHelloLength(buf: Buffer): number {
  if (buf.length < 9) return 0;
  const helloLength = 4 + buf.readUIntBE(6, 3);
  // Walk the records until they carry the whole handshake message.
  let pos = 0;
  let carried = 0;
  while (carried < helloLength) {
    if (pos + 5 > buf.length) return 0;
    const len = buf.readUInt16BE(pos + 3);
    pos += 5 + len;
    carried += len;
  }
  return pos;
}

/** Parses the ClientHello at the start of `buf`; null when it is not one or malformed. */
export function parseClientHello(buf: Buffer): ClientHello | null {
  try {
    // Join the handshake fragments of consecutive records.
    const parts: Buffer[] = [];
    let pos = 0;
    while (pos + 5 <= buf.length && buf[pos] === HANDSHAKE) {
      const len = buf.readUInt16BE(pos + 3);
      parts.push(buf.subarray(pos + 5, Math.min(buf.length, pos + 5 + len)));
      pos += 5 + len;
    }
    const hs = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    if (hs[0] !== CLIENT_HELLO) return null;
    let p = 4 + 2 + 32; // header, legacy_version, random
    p += 1 + hs[p]!; // session id
    p += 2 + hs.readUInt16BE(p); // cipher suites
    p += 1 + hs[p]!; // compression methods
    const hello: ClientHello = { sni: null, alpnOffers: [] };
    if (p + 2 > hs.length) return hello; // no extensions
    const extEnd = Math.min(hs.length, p + 2 + hs.readUInt16BE(p));
    p += 2;
    while (p + 4 <= extEnd) {
      const type = hs.readUInt16BE(p);
      const len = hs.readUInt16BE(p + 2);
      const body = hs.subarray(p + 4, p + 4 + len);
      p += 4 + len;
      if (type === EXT_SERVER_NAME && body.length >= 5) {
        let q = 2;
        while (q + 3 <= body.length) {
          const nameType = body[q]!;
          const nameLen = body.readUInt16BE(q + 1);
          if (nameType === 0) {
            hello.sni = body.toString("ascii", q + 3, q + 3 + nameLen);
            break;
          }
          q += 3 + nameLen;
        }
      } else if (type === EXT_ALPN && body.length >= 2) {
        let q = 2;
        while (q < body.length) {
          const l = body[q]!;
          hello.alpnOffers.push(Buffer.from(body.subarray(q + 1, q + 1 + l)));
          q += 1 + l;
        }
      }
    }
    return hello;
  } catch {
    return null;
  }
}
