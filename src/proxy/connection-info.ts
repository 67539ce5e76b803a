/**
 * What the proxy knows about each side's connection: addresses, TLS facts and timestamps,
 * kept up to date as the sockets progress. The capture turns these into the flows'
 * `client_conn` / `server_conn` (mitm-format.md §2.6).
 */
import { randomUUID } from "node:crypto";
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { unixNow } from "./clock.js";

/** A socket address as flows store it. */
export type SocketAddress = [host: string, port: number];

/** The TLS facts of one side of a connection. */
export interface TlsInfo {
  sni: string | null;
  /** negotiated ALPN protocol */
  alpn: Buffer | null;
  alpnOffers: Buffer[];
  /** OpenSSL cipher name, e.g. TLS_AES_256_GCM_SHA384 */
  cipher: string | null;
  cipherList: string[];
  /** e.g. TLSv1.3 */
  tlsVersion: string | null;
  /** the peer's certificates as PEM, end-entity first (server side only) */
  certificateList: Buffer[];
  timestampTlsSetup: number | null;
}

/** The client's connection to the proxy. */
export interface ClientConnectionInfo {
  readonly id: string;
  peername: SocketAddress;
  sockname: SocketAddress;
  timestampStart: number;
  timestampEnd: number | null;
  /** set once the client spoke TLS to the proxy */
  tls: TlsInfo | null;
  /** the certificate the proxy showed the client, PEM */
  mitmcert: Buffer | null;
  /** the mode spec the client came in through (`regular`, `reverse:…`, `upstream:…`) */
  proxyMode: string;
  error: string | null;
}

/** The proxy's connection to a server (or to the upstream proxy on its way there). */
export interface ServerConnectionInfo {
  readonly id: string;
  /** where the proxy was told to connect */
  address: SocketAddress | null;
  peername: SocketAddress | null;
  sockname: SocketAddress | null;
  /** TLS is (or should be) used */
  tls: boolean;
  tlsInfo: TlsInfo | null;
  timestampStart: number | null;
  timestampTcpSetup: number | null;
  timestampEnd: number | null;
  /** the upstream proxy, `[scheme, [host, port]]` */
  via: [string, SocketAddress] | null;
  error: string | null;
}

/** The address of a socket's local or remote end; IPv4 stays dotted. */
export function addressOf(host: string | undefined, port: number | undefined): SocketAddress {
  return [host ?? "", port ?? 0];
}

/** A record for a client socket the proxy just accepted. */
export function newClientInfo(socket: Socket, proxyMode: string): ClientConnectionInfo {
  return {
    id: randomUUID(),
    peername: addressOf(socket.remoteAddress, socket.remotePort),
    sockname: addressOf(socket.localAddress, socket.localPort),
    timestampStart: unixNow(),
    timestampEnd: null,
    tls: null,
    mitmcert: null,
    proxyMode,
    error: null,
  };
}

/** A record for a server connection about to be opened to `address`. */
export function newServerInfo(address: SocketAddress | null, tls: boolean, via: [string, SocketAddress] | null): ServerConnectionInfo {
  return {
    id: randomUUID(),
    address,
    peername: null,
    sockname: null,
    tls,
    tlsInfo: null,
    timestampStart: unixNow(),
    timestampTcpSetup: null,
    timestampEnd: null,
    via,
    error: null,
  };
}

/** PEM text of a DER certificate. */
function pemOf(der: Buffer): Buffer {
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n$/, "");
  return Buffer.from(`-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`);
}

/**
 * The certificates the peer sent as PEM, end-entity first. Node completes the chain it
 * reports with the trust anchor from the local store; servers do not send their root
 * (RFC 8446 §4.4.2 lets them omit it, and they do), so a self-signed certificate at the
 * end of a longer chain is that anchor and is left out, as mitmproxy records only what
 * the server sent.
 */
export function peerCertificates(socket: TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  let cert = socket.getPeerCertificate(true);
  let lastSelfSigned = false;
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    out.push(pemOf(cert.raw));
    lastSelfSigned = cert.issuerCertificate?.fingerprint256 === cert.fingerprint256;
    cert = cert.issuerCertificate;
  }
  if (out.length > 1 && lastSelfSigned) out.pop();
  return out;
}

/** The TLS facts of an established TLS socket. */
export function tlsInfoOf(socket: TLSSocket, opts: { sni: string | null; alpnOffers: Buffer[]; certificates: Buffer[] }): TlsInfo {
  const alpn = socket.alpnProtocol;
  return {
    sni: opts.sni,
    // No protocol negotiated is b"" on an established TLS connection, as mitmproxy records it.
    alpn: typeof alpn === "string" ? Buffer.from(alpn) : Buffer.alloc(0),
    alpnOffers: opts.alpnOffers,
    cipher: socket.getCipher()?.name ?? null,
    cipherList: [],
    tlsVersion: socket.getProtocol() ?? null,
    certificateList: opts.certificates,
    timestampTlsSetup: unixNow(),
  };
}
