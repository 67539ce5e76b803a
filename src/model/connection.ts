/**
 * The client and server connections of a flow (mitmproxy's `connection.Client` and
 * `connection.Server`), over their v21 dicts (mitm-format.md §2.6). Flows hand these out
 * only after promoting their state to version 21, since older versions name fields differently.
 */
import type { TDict, TValue } from "../format/tnetstring.js";
import { bytesOf, entryOf, strOf, strOrNull, toFloatValue, toNumber } from "./values.js";
import { asBuffer } from "./bytes.js";

/** A socket address: `[host, port]`, IPv6 possibly `[host, port, flowinfo, scopeId]`. */
export type Address = [host: string, port: number, ...rest: number[]];

export function addressOf(v: TValue | undefined): Address | null {
  if (!Array.isArray(v) || v.length < 2) return null;
  const [host, port, ...rest] = v;
  return [strOf(host), toNumber(port) ?? 0, ...rest.map((x) => toNumber(x) ?? 0)];
}

function addressValue(a: Address | null): TValue {
  if (a === null) return null;
  const [host, port, ...rest] = a;
  return [String(host), port, ...rest];
}

function buffersOf(v: TValue | undefined): Buffer[] {
  return Array.isArray(v) ? v.map(bytesOf) : [];
}

function stringsOf(v: TValue | undefined): string[] {
  return Array.isArray(v) ? v.map(strOf) : [];
}

/** What client and server connections share. */
export abstract class Connection {
  /** @param state the connection's v21 dict in the flow state (live) */
  constructor(readonly state: TDict) {}

  protected num(key: string): number | null {
    return toNumber(this.state.get(key));
  }

  protected setTimestamp(key: string, t: number | null): void {
    this.state.set(key, t === null ? null : toFloatValue(t));
  }

  /** The connection's UUID (shared by flows over the same connection). */
  get id(): string {
    return strOf(this.state.get("id"));
  }

  /** The remote address of the socket, or null when not connected. */
  get peername(): Address | null {
    return addressOf(entryOf(this.state, "peername"));
  }

  set peername(a: Address | null) {
    this.state.set("peername", addressValue(a));
  }

  /** The local address of the socket, or null. */
  get sockname(): Address | null {
    return addressOf(entryOf(this.state, "sockname"));
  }

  set sockname(a: Address | null) {
    this.state.set("sockname", addressValue(a));
  }

  /** `tcp` or `udp`. */
  get transportProtocol(): string {
    return strOf(this.state.get("transport_protocol")) || "tcp";
  }

  set transportProtocol(v: string) {
    this.state.set("transport_protocol", v);
  }

  /** The connection error, or null. */
  get error(): string | null {
    return strOrNull(this.state.get("error"));
  }

  set error(v: string | null) {
    this.state.set("error", v);
  }

  /** True when TLS is (or should be) used. */
  get tls(): boolean {
    return this.state.get("tls") === true;
  }

  set tls(v: boolean) {
    this.state.set("tls", v);
  }

  /** True once the TLS handshake completed. */
  get tlsEstablished(): boolean {
    return this.timestampTlsSetup !== null;
  }

  /** The peer's certificates as PEM, end-entity first. */
  get certificateList(): Buffer[] {
    return buffersOf(entryOf(this.state, "certificate_list"));
  }

  set certificateList(certs: Uint8Array[]) {
    this.state.set("certificate_list", certs.map(asBuffer));
  }

  /** The negotiated ALPN protocol (e.g. `h2`), or null. */
  get alpn(): Buffer | null {
    const v = this.state.get("alpn");
    return v === null || v === undefined ? null : bytesOf(v);
  }

  set alpn(v: Uint8Array | string | null) {
    this.state.set("alpn", v === null ? null : typeof v === "string" ? Buffer.from(v, "utf8") : asBuffer(v));
  }

  /** The ALPN protocols offered. */
  get alpnOffers(): Buffer[] {
    return buffersOf(entryOf(this.state, "alpn_offers"));
  }

  set alpnOffers(v: (Uint8Array | string)[]) {
    this.state.set(
      "alpn_offers",
      v.map((x) => (typeof x === "string" ? Buffer.from(x, "utf8") : asBuffer(x))),
    );
  }

  /** The negotiated cipher's OpenSSL name, or null. */
  get cipher(): string | null {
    return strOrNull(this.state.get("cipher"));
  }

  set cipher(v: string | null) {
    this.state.set("cipher", v);
  }

  /** The ciphers offered. */
  get cipherList(): string[] {
    return stringsOf(entryOf(this.state, "cipher_list"));
  }

  set cipherList(v: string[]) {
    this.state.set("cipher_list", [...v]);
  }

  /** The TLS version (`TLSv1.3`, `QUICv1`, …), or null. */
  get tlsVersion(): string | null {
    return strOrNull(this.state.get("tls_version"));
  }

  set tlsVersion(v: string | null) {
    this.state.set("tls_version", v);
  }

  /** The server name indication, or null. */
  get sni(): string | null {
    return strOrNull(this.state.get("sni"));
  }

  set sni(v: string | null) {
    this.state.set("sni", v);
  }

  /** When the connection started (Unix seconds), or null. */
  get timestampStart(): number | null {
    return this.num("timestamp_start");
  }

  set timestampStart(t: number | null) {
    this.setTimestamp("timestamp_start", t);
  }

  /** When the connection ended, or null. */
  get timestampEnd(): number | null {
    return this.num("timestamp_end");
  }

  set timestampEnd(t: number | null) {
    this.setTimestamp("timestamp_end", t);
  }

  /** When the TLS handshake completed, or null. */
  get timestampTlsSetup(): number | null {
    return this.num("timestamp_tls_setup");
  }

  set timestampTlsSetup(t: number | null) {
    this.setTimestamp("timestamp_tls_setup", t);
  }
}

/** The client's connection to the proxy. */
export class Client extends Connection {
  /** The client's address (an alias of `peername`, as in older mitmproxy). */
  get address(): Address | null {
    return this.peername;
  }

  /** The certificate mitmproxy showed the client (PEM), or null. */
  get mitmcert(): Buffer | null {
    const v = this.state.get("mitmcert");
    return v === null || v === undefined ? null : bytesOf(v);
  }

  set mitmcert(v: Uint8Array | null) {
    this.state.set("mitmcert", v === null ? null : asBuffer(v));
  }

  /** The proxy mode spec the client came in through (`regular`, `reverse:https://…`, …). */
  get proxyMode(): string {
    return strOf(this.state.get("proxy_mode")) || "regular";
  }

  set proxyMode(v: string) {
    this.state.set("proxy_mode", v);
  }
}

/** The proxy's connection to the server. */
export class Server extends Connection {
  /** Where the proxy was told to connect (a host name or IP and port), or null. */
  get address(): Address | null {
    return addressOf(entryOf(this.state, "address"));
  }

  set address(a: Address | null) {
    this.state.set("address", addressValue(a));
  }

  /** When the TCP handshake completed, or null. */
  get timestampTcpSetup(): number | null {
    return this.num("timestamp_tcp_setup");
  }

  set timestampTcpSetup(t: number | null) {
    this.setTimestamp("timestamp_tcp_setup", t);
  }

  /** The upstream proxy, `[scheme, [host, port]]`, or null. */
  get via(): [scheme: string, address: Address] | null {
    const v = entryOf(this.state, "via");
    if (!Array.isArray(v) || v.length < 2) return null;
    const addr = addressOf(v[1]);
    return addr ? [strOf(v[0]), addr] : null;
  }

  set via(v: [scheme: string, address: Address] | null) {
    this.state.set("via", v === null ? null : [v[0], addressValue(v[1])]);
  }
}
