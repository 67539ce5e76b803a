/**
 * TLS towards servers, shared by every client connection: one client context (tls.connect
 * would build one per connection, a good part of a handshake's cost), and each server's
 * latest session kept for resumption (RFC 8446 §2.2), as an HTTPS agent does. A resumed handshake carries
 * no certificates, so the chain recorded for it is the one of the full handshake the session
 * came from.
 */
import { type SecureContext, type TLSSocket, connect as tlsConnect, createSecureContext } from "node:tls";
import type { Socket } from "node:net";
import { BoundedCache } from "./bounded-cache.js";
import { peerCertificates } from "../connection-info.js";

/** Servers whose sessions are kept (one each). */
const SESSION_CACHE_SIZE = 1000;

/** A server's session and the certificates it was established with. */
interface KnownSession {
  session: Buffer;
  certificates: Buffer[];
}

/** A TLS socket being connected, and the server's certificate chain once it is. */
export interface UpstreamTlsConnection {
  socket: TLSSocket;
  /** the server's certificates as PEM, end-entity first; valid after `secureConnect` */
  certificates(): Buffer[];
}

/** Client-side TLS for server connections. */
export class UpstreamTls {
  private context: SecureContext | null = null;
  private readonly sessions = new BoundedCache<string, KnownSession>(SESSION_CACHE_SIZE);

  constructor(
    /** don't verify server certificates (-k) */
    private readonly insecure: boolean,
  ) {}

  /**
   * Starts TLS over `socket` to `host:port`, offering `alpn`, resuming the last session
   * with that server when there is one. `servername` is null for IP literals (RFC 6066 §3).
   */
  connect(
    socket: Socket,
    host: string,
    port: number,
    servername: string | null,
    alpn: string[],
  ): UpstreamTlsConnection {
    const key = `${host}:${port}:${alpn.join(",")}`;
    const known = this.sessions.get(key);
    // Made on first use: loading the root certificates is wasted on captures without HTTPS.
    this.context ??= createSecureContext();
    const tls = tlsConnect({
      socket,
      host,
      servername: servername ?? undefined,
      ALPNProtocols: alpn,
      rejectUnauthorized: !this.insecure,
      secureContext: this.context,
      session: known?.session,
    });
    let certificates: Buffer[] | null = null;
    let latest: Buffer | null = null;
    const remember = (): void => {
      if (certificates && latest) this.sessions.set(key, { session: latest, certificates });
    };
    // TLS 1.3 sends session tickets after the handshake, TLS 1.2 during it.
    tls.on("session", (session: Buffer) => {
      latest = session;
      remember();
    });
    tls.once("secureConnect", () => {
      certificates = known && tls.isSessionReused() ? known.certificates : peerCertificates(tls);
      remember();
    });
    // A session that led to a failed handshake is not offered again.
    tls.once("error", () => {
      if (!certificates && known && this.sessions.get(key) === known) this.sessions.delete(key);
    });
    return { socket: tls, certificates: () => certificates ?? [] };
  }
}
