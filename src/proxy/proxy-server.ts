/**
 * The listening proxy: accepts client connections, parses HTTP/1 with Node's server
 * (absolute-form requests, keep-alive, chunked bodies, 100-continue, HTTP/1.0), opens
 * CONNECT tunnels and decides what each carries (passed through for --ignore-hosts, raw
 * TCP for --tcp-hosts, TLS that is intercepted, or plain HTTP), and hands every request,
 * upgrade and relay to the modules that run them. Behaviour comes from a ProxyHandler.
 */
import { type IncomingMessage, type ServerResponse, createServer as createHttpServer } from "node:http";
import { type AddressInfo, type Server as NetServer, type Socket, createServer as createNetServer } from "node:net";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import { unixNow } from "./clock.js";
import type { CertificateAuthority } from "./certificates.js";
import { clientHelloLength, looksLikeTls, parseClientHello } from "./client-hello.js";
import { ClientSession, type TunnelTarget, bindSession, sessionOf } from "./client-session.js";
import { newClientInfo, tlsInfoOf } from "./connection-info.js";
import { HttpRelay, type RelayContext } from "./http-relay.js";
import type { ProxyHandler } from "./proxy-handler.js";
import { type ProxyMode, hostPort } from "./proxy-mode.js";
import { parseAuthority } from "./request-target.js";
import { ServerConnections, type UpstreamSettings } from "./server-connections.js";
import { relayTcp } from "./tcp-relay.js";
import { UpstreamTls } from "./upstream-tls.js";
import { WebSocketUpgrade } from "./websocket-relay.js";

/** How the proxy listens and connects. */
export interface ProxyServerOptions {
  host: string;
  port: number;
  mode: ProxyMode;
  /** the CA for TLS interception (required unless no TLS is ever intercepted) */
  ca: CertificateAuthority | null;
  /** don't verify upstream certificates */
  insecure: boolean;
  /** connect / inactivity timeout upstream, ms */
  timeoutMs: number;
  /** CONNECT targets relayed as raw TCP */
  tcpHosts: RegExp | null;
  /** CONNECT targets passed through untouched and unrecorded */
  ignoreHosts: RegExp | null;
  /** how long a client may take to send a request's head, ms (default 60 s); bodies are not limited by it */
  headTimeoutMs?: number;
  /** told about bugs met while serving (the connection concerned is closed) */
  onInternalError?: (e: unknown) => void;
}

/** Largest ClientHello read before deciding (TLS 1.3 hellos with post-quantum shares run to a few KB). */
const MAX_HELLO = 64 * 1024;

/** True when `re` matches the host or `host:port` (mitmproxy 8 matched one, newer the other). */
function hostMatches(re: RegExp | null, host: string, port: number): boolean {
  return re !== null && (re.test(host) || re.test(hostPort(host, port)));
}

/** Reads the first bytes a client sends; resolves with them (or an empty buffer at EOF). */
function firstBytes(socket: Duplex, already: Buffer): Promise<Buffer> {
  if (already.length) return Promise.resolve(already);
  return new Promise((resolve) => {
    const done = (b: Buffer): void => {
      socket.removeListener("data", onData);
      socket.removeListener("end", onEnd);
      socket.removeListener("close", onEnd);
      socket.pause();
      resolve(b);
    };
    const onData = (b: Buffer): void => done(b);
    const onEnd = (): void => done(Buffer.alloc(0));
    socket.on("data", onData);
    socket.once("end", onEnd);
    socket.once("close", onEnd);
    socket.resume();
  });
}

/** Reads until `buf` holds a whole ClientHello (or it is clearly not one). */
async function wholeClientHello(socket: Duplex, first: Buffer): Promise<Buffer> {
  let buf = first;
  while (buf.length < MAX_HELLO) {
    const need = clientHelloLength(buf);
    if (need > 0 && buf.length >= need) break;
    const more = await firstBytes(socket, Buffer.alloc(0));
    if (!more.length) break;
    buf = Buffer.concat([buf, more]);
  }
  return buf;
}

/** The proxy server. */
export class ProxyServer {
  private readonly listener: NetServer;
  private readonly http: ReturnType<typeof createHttpServer>;
  private readonly sessions = new Set<ClientSession>();
  private readonly settings: UpstreamSettings;
  private stopping = false;

  constructor(
    private readonly opts: ProxyServerOptions,
    private readonly handler: ProxyHandler,
  ) {
    this.settings = {
      tls: new UpstreamTls(opts.insecure),
      timeoutMs: opts.timeoutMs,
      upstreamProxy: opts.mode.kind === "upstream" ? opts.mode.proxy : null,
    };
    const headTimeoutMs = opts.headTimeoutMs ?? 60_000;
    this.http = createHttpServer({
      // Headers as sent: no folding of repeated names (the raw list is what is recorded anyway).
      joinDuplicateHeaders: false,
      requireHostHeader: false,
      // Long uploads and idle keep-alive clients are normal for a proxy; a slow head is not
      // (it holds a connection for nothing): it gets a 408 and the connection is closed.
      requestTimeout: 0,
      headersTimeout: headTimeoutMs,
      connectionsCheckingInterval: Math.min(30_000, Math.max(100, headTimeoutMs / 4)),
      keepAliveTimeout: 120_000,
    });
    this.listener = createNetServer({ noDelay: true }, (s) => this.accept(s));
    this.http.on("request", (req: IncomingMessage, res: ServerResponse) => this.onRequest(req, res));
    this.http.on("connect", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onConnect(req, socket as Socket, head));
    this.http.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket as Socket, head));
    this.http.on("clientError", (_e: Error, socket: Duplex) => {
      if (socket.writable) socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      else socket.destroy();
    });
  }

  /** Starts listening; resolves with the bound address. */
  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.listener.once("error", reject);
      this.listener.listen(this.opts.port, this.opts.host, () => {
        this.listener.removeListener("error", reject);
        // The HTTP server never listens itself (it gets its sockets from this one), so its
        // timeout checks, which start on "listening", are started here.
        this.http.emit("listening");
        resolve(this.listener.address() as AddressInfo);
      });
    });
  }

  /** Exchanges not finished yet, over all client connections. */
  get inFlight(): number {
    let n = 0;
    for (const s of this.sessions) n += s.exchanges.size + s.relays.size;
    return n;
  }

  /** Stops accepting; idle keep-alive connections are closed, busy ones left to finish. */
  stopAccepting(): Promise<void> {
    this.stopping = true;
    const closed = new Promise<void>((r) => this.listener.close(() => r()));
    for (const s of this.sessions) if (s.exchanges.size === 0 && s.relays.size === 0) this.closeSession(s);
    return closed;
  }

  /** Waits until nothing is in flight, or `ms` passed. */
  async drain(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  /** Closes every client connection now. */
  destroyAll(): void {
    for (const s of this.sessions) this.closeSession(s);
  }

  /** A bug met while serving a connection: reported, that connection closed, the proxy goes on. */
  private internalError(e: unknown, socket: Duplex): void {
    socket.destroy();
    this.opts.onInternalError?.(e);
  }

  private closeSession(s: ClientSession): void {
    for (const sock of s.sockets) sock.destroy();
  }

  private context(session: ClientSession): RelayContext {
    return { session, mode: this.opts.mode, handler: this.handler, timeoutMs: this.opts.timeoutMs };
  }

  private accept(socket: Socket): void {
    socket.on("error", () => {}); // a reset client ends in "close" like any other
    if (this.stopping) return void socket.destroy();
    const info = newClientInfo(socket, this.opts.mode.spec);
    const servers = new ServerConnections(this.settings, {
      connected: (s) => this.handler.serverConnected(s, info),
      disconnected: (s) => this.handler.serverDisconnected(s, info),
    });
    const session = new ClientSession(info, servers);
    this.sessions.add(session);
    this.watch(session, socket);
    const started = this.handler.clientConnected(info).catch(() => {});
    // Data that arrives while clientconnect runs waits in the socket's buffer.
    socket.pause();
    void started
      .then(async () => {
        if (session.closed) return;
        if (this.opts.mode.kind === "reverse") return this.dispatchReverse(session, socket);
        this.toHttp(socket);
      })
      .catch((e: unknown) => this.internalError(e, socket));
  }

  /** Ends the session when any of its sockets closes: server connections first, then clientdisconnect. */
  private watch(session: ClientSession, socket: Socket): void {
    bindSession(socket, session);
    socket.once("close", () => {
      if (session.closed) return;
      session.closed = true;
      session.info.timestampEnd = unixNow();
      for (const s of session.sockets) s.destroy();
      void (async () => {
        await Promise.all([...session.relays]);
        while (session.exchanges.size) await new Promise((r) => setTimeout(r, 5));
        await session.servers.closeAll();
        await this.handler.clientDisconnected(session.info).catch(() => {});
        this.sessions.delete(session);
      })();
    });
  }

  /** Hands a socket to the HTTP parser. */
  private toHttp(socket: Socket): void {
    this.http.emit("connection", socket);
    socket.resume();
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const session = sessionOf(req.socket);
    if (!session) return void req.socket.destroy();
    HttpRelay.handle(this.context(session), req, res).catch((e: unknown) => this.internalError(e, req.socket));
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const session = sessionOf(socket);
    if (!session) return void socket.destroy();
    if ((req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
      socket.end("HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      return;
    }
    WebSocketUpgrade.handle(this.context(session), req, socket, head).catch((e: unknown) => this.internalError(e, socket));
  }

  /** Reverse mode: the client may speak TLS to the proxy (as to the real server) or not. */
  private async dispatchReverse(session: ClientSession, socket: Socket): Promise<void> {
    const first = await firstBytes(socket, Buffer.alloc(0));
    if (!first.length) return void socket.destroy();
    if (looksLikeTls(first)) {
      const host = this.opts.mode.kind === "reverse" ? this.opts.mode.target.host : "";
      const decrypted = await this.interceptTls(session, socket, first, host);
      if (decrypted) this.toHttp(decrypted);
      return;
    }
    socket.unshift(first);
    this.toHttp(socket);
  }

  private onConnect(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const session = sessionOf(socket);
    if (!session) return void socket.destroy();
    const target = parseAuthority(req.url ?? "", 0);
    if (!target || target.port === 0) {
      socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      return;
    }
    const job = this.tunnel(session, socket, target.host, target.port, head).catch(() => {
      socket.destroy();
    });
    session.relays.add(job);
    void job.finally(() => session.relays.delete(job));
  }

  /** What a CONNECT tunnel carries decides what happens to it. */
  private async tunnel(session: ClientSession, socket: Socket, host: string, port: number, head: Buffer): Promise<void> {
    if (hostMatches(this.opts.ignoreHosts, host, port)) return this.passThrough(session, socket, host, port, head);
    try {
      await session.servers.connectEarly(host, port);
    } catch {
      socket.end("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      return;
    }
    socket.write("HTTP/1.1 200 Connection established\r\n\r\n");
    const first = await firstBytes(socket, head);
    if (!first.length) return void socket.end();
    const tls = looksLikeTls(first);
    const ctx = this.context(session);
    if (hostMatches(this.opts.tcpHosts, host, port)) {
      const target = { host, port, tls };
      if (!tls) return relayTcp(ctx, socket, target, first);
      const decrypted = await this.interceptTls(session, socket, first, host);
      if (decrypted) await relayTcp(ctx, decrypted, target, Buffer.alloc(0));
      return;
    }
    session.tunnel = { host, port, tls } satisfies TunnelTarget;
    if (!tls) {
      socket.unshift(first);
      return this.toHttp(socket);
    }
    const decrypted = await this.interceptTls(session, socket, first, host);
    if (decrypted) this.toHttp(decrypted);
  }

  /** --ignore-hosts: connect, say 200, and copy bytes both ways; nothing is recorded. */
  private async passThrough(session: ClientSession, socket: Socket, host: string, port: number, head: Buffer): Promise<void> {
    let upstream: Socket;
    try {
      upstream = await session.servers.rawTunnel({ scheme: "http", host, port });
    } catch {
      socket.end("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      return;
    }
    socket.write("HTTP/1.1 200 Connection established\r\n\r\n");
    if (head.length) upstream.write(head);
    socket.pipe(upstream).pipe(socket);
    upstream.on("error", () => socket.destroy());
    await new Promise<void>((r) => {
      let open = 2;
      const closed = (): void => {
        socket.destroy();
        upstream.destroy();
        if (--open <= 0) r();
      };
      socket.once("close", closed);
      upstream.once("close", closed);
    });
  }

  /**
   * Answers the client's TLS as `sni` (or `host`, the tunnel's target, when it sent none,
   * e.g. for IP literals) with a certificate from the CA. Resolves with the decrypted
   * socket once the handshake is done, or null when it failed.
   */
  private async interceptTls(session: ClientSession, socket: Socket, first: Buffer, host: string): Promise<TLSSocket | null> {
    const ca = this.opts.ca;
    if (!ca) {
      socket.destroy();
      return null;
    }
    const hello = await wholeClientHello(socket, first);
    const parsed = parseClientHello(hello);
    const sni = parsed?.sni ?? null;
    const leaf = await ca.leaf(sni ?? host);
    socket.unshift(hello);
    const offers = parsed?.alpnOffers ?? [];
    const tls = new TLSSocket(socket, {
      isServer: true,
      secureContext: leaf.context,
      // Only HTTP/1.1 is spoken; a client offering nothing gets no ALPN (RFC 7301 §3.2).
      ALPNProtocols: offers.some((o) => o.toString() === "http/1.1") ? ["http/1.1"] : undefined,
    });
    bindSession(tls, session);
    tls.once("close", () => socket.destroy());
    return new Promise((resolve) => {
      tls.once("error", () => {
        // Most often the client does not trust the CA: nothing to record, the client saw the alert.
        tls.destroy();
        resolve(null);
      });
      tls.once("close", () => resolve(null));
      tls.once("secure", () => {
        session.info.tls = tlsInfoOf(tls, { sni, alpnOffers: offers, certificates: [] });
        session.info.mitmcert = Buffer.from(leaf.pem);
        tls.on("error", () => {});
        resolve(tls);
      });
    });
  }
}
