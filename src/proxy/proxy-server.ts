/**
 * The listening proxy: accepts client connections, parses HTTP/1 with Node's server
 * (absolute-form requests, keep-alive, chunked bodies, 100-continue, HTTP/1.0), opens
 * CONNECT tunnels and decides what each carries (passed through for --ignore-hosts, raw
 * TCP for --tcp-hosts, TLS that is intercepted, or plain HTTP), and hands every request,
 * upgrade and relay to the modules that run them. Behaviour comes from a ProxyHandler.
 */
import { type IncomingMessage, type ServerResponse, createServer as createHttpServer } from "node:http";
import {
  type IncomingHttpHeaders,
  type Http2Session,
  type ServerHttp2Stream,
  constants as h2constants,
  createServer as createHttp2Server,
} from "node:http2";
import { type AddressInfo, type Server as NetServer, type Socket, createServer as createNetServer } from "node:net";
import type { Duplex } from "node:stream";
import { TLSSocket } from "node:tls";
import { unixNow } from "./clock.js";
import type { CertificateAuthority } from "./tls/certificates.js";
import { clientHelloLength, looksLikeTls, parseClientHello } from "./tls/client-hello.js";
import { ClientSession, type TunnelTarget, bindSession, sessionOf } from "./client-session.js";
import { newClientInfo, tlsInfoOf } from "./connection-info.js";
import { withoutUpgrade } from "./http/declined-upgrade.js";
import { HttpRelay, type RelayContext } from "./http/http-relay.js";
import { basicCredentialsMatch, credentialsHeader, credentialsRequired } from "./http/basic-auth.js";
import { Http1ClientSide } from "./http/client-side.js";
import { DeliveryBatch } from "./http/delivery-batch.js";
import { H2ClientSide } from "./http2/h2-client-side.js";
import { streamOver } from "./http2/stream-over.js";
import type { ProxyHandler } from "./proxy-handler.js";
import { type Endpoint, type ProxyMode, hostPort } from "./proxy-mode.js";
import { parseAuthority } from "./http/request-target.js";
import { ServerConnections, type UpstreamSettings } from "./server-connections.js";
import { type ProxyCredentials, socks5Greeting } from "./socks5.js";
import { relayTcp } from "./tcp-relay.js";
import { UpstreamTls } from "./tls/upstream-tls.js";
import { WebSocketUpgrade } from "./websocket/websocket-relay.js";

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
  /** credentials clients must give (--proxyauth): Proxy-Authorization, or SOCKS5 username/password */
  proxyAuth?: ProxyCredentials | null;
  /** told about bugs met while serving (the connection concerned is closed) */
  onInternalError?: (e: unknown) => void;
  /** never connect to a server unasked (server replay): CONNECT is answered and ALPN chosen without one */
  offline?: boolean;
}

/** The client connection preface of HTTP/2 (RFC 9113 §3.4), as far as a first read surely holds it. */
const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n");

/** Tells the client whether its tunnel is open (true) or could not be made (false). */
type TunnelAnswer = (ok: boolean) => void;

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
  /** HTTP/2 clients (after ALPN h2) are served by Node's HTTP/2 server, stream by stream (its core API). */
  private readonly h2 = createHttp2Server({ settings: { enablePush: false } });
  /** the client session of each HTTP/2 connection */
  private readonly h2Sessions = new WeakMap<Http2Session, ClientSession>();
  /** the client session whose socket is being handed to the HTTP/2 server (its "session" event is synchronous) */
  private h2Pending: ClientSession | null = null;
  private readonly sessions = new Set<ClientSession>();
  private readonly settings: UpstreamSettings;
  private readonly deliveries: DeliveryBatch;
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
    this.deliveries = new DeliveryBatch(handler);
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
    this.h2.on("session", (h2: Http2Session) => {
      if (this.h2Pending) this.h2Sessions.set(h2, this.h2Pending);
      h2.on("error", () => {});
    });
    this.h2.on("stream", (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, flags: number, rawHeaders: string[]) => {
      const session = stream.session ? this.h2Sessions.get(stream.session) : undefined;
      if (!session) return void stream.close();
      const client = new H2ClientSide(stream, headers, rawHeaders, (flags & h2constants.NGHTTP2_FLAG_END_STREAM) !== 0);
      if (!this.authorized(session, headers)) {
        const { status, reason, challenge, page } = credentialsRequired(this.opts.mode.kind === "reverse");
        client.discardBody();
        return client.answer(status, reason, page, false, challenge);
      }
      HttpRelay.handle(this.context(session), client).catch((e: unknown) => this.internalError(e, stream));
    });
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
    return { session, mode: this.opts.mode, handler: this.handler, timeoutMs: this.opts.timeoutMs, deliveries: this.deliveries };
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
        if (this.opts.mode.kind === "socks5") return this.dispatchSocks(session, socket);
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

  /**
   * --proxyauth: in the HTTP proxy modes a client connection is let through once a request
   * on it carried the credentials (as mitmproxy remembers them per connection); in reverse
   * mode every request must carry them in `Authorization` (as mitmproxy asks there).
   * `session.authenticated` tells the relay to drop the header checked.
   */
  private authorized(session: ClientSession, headers: IncomingHttpHeaders): boolean {
    const auth = this.opts.proxyAuth;
    const reverse = this.opts.mode.kind === "reverse";
    if (!auth || (session.authenticated && !reverse)) return true;
    if (!basicCredentialsMatch(headers[credentialsHeader(reverse)], auth)) return false;
    session.authenticated = true;
    return true;
  }

  /** An HTTP/1 request without valid credentials: 407 (401 in reverse mode), and the connection closed. */
  private askCredentials(req: IncomingMessage, socket: Duplex): void {
    const { status, reason, challenge, page } = credentialsRequired(this.opts.mode.kind === "reverse");
    req.resume();
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\n${challenge[0]}: ${challenge[1]}\r\ncontent-type: text/html\r\ncontent-length: ${page.length}\r\nconnection: close\r\n\r\n${page}`,
    );
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const session = sessionOf(req.socket);
    if (!session) return void req.socket.destroy();
    if (!this.authorized(session, req.headers)) return this.askCredentials(req, req.socket);
    HttpRelay.handle(this.context(session), new Http1ClientSide(req, res)).catch((e: unknown) => this.internalError(e, req.socket));
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const session = sessionOf(socket);
    if (!session) return void socket.destroy();
    if (!this.authorized(session, req.headers)) return this.askCredentials(req, socket);
    if ((req.headers.upgrade ?? "").toLowerCase() !== "websocket") {
      // h2c and other upgrades: declined as mitmdump does, the request parsed again without them.
      socket.unshift(Buffer.concat([withoutUpgrade(req), head]));
      return this.toHttp(socket);
    }
    WebSocketUpgrade.handle(this.context(session), req, socket, head).catch((e: unknown) => this.internalError(e, socket));
  }

  /** Reverse mode: the client may speak TLS to the proxy (as to the real server) or not. */
  private async dispatchReverse(session: ClientSession, socket: Socket): Promise<void> {
    const first = await firstBytes(socket, Buffer.alloc(0));
    if (!first.length) return void socket.destroy();
    if (looksLikeTls(first)) {
      const target = this.opts.mode.kind === "reverse" ? this.opts.mode.target : null;
      const decrypted = await this.interceptTls(session, socket, first, target?.host ?? "", target?.scheme === "https" ? target : "http");
      if (decrypted) this.serveHttp(session, decrypted);
      return;
    }
    socket.unshift(first);
    // HTTP/2 with prior knowledge (RFC 9113 §3.3), e.g. curl --http2-prior-knowledge.
    if (first.subarray(0, H2_PREFACE.length).equals(H2_PREFACE)) return this.toH2(session, socket);
    this.toHttp(socket);
  }

  private onConnect(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const session = sessionOf(socket);
    if (!session) return void socket.destroy();
    if (!this.authorized(session, req.headers)) return this.askCredentials(req, socket);
    const target = parseAuthority(req.url ?? "", 0);
    if (!target || target.port === 0) {
      socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      return;
    }
    this.startTunnel(session, socket, target.host, target.port, head, (ok) => {
      if (ok) socket.write("HTTP/1.1 200 Connection established\r\n\r\n");
      else socket.end("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
    });
  }

  /** Runs a tunnel (CONNECT or SOCKS5) as one of the session's relays. */
  private startTunnel(session: ClientSession, socket: Socket, host: string, port: number, head: Buffer, answer: TunnelAnswer | null): void {
    const job = this.tunnel(session, socket, host, port, head, answer).catch(() => {
      socket.destroy();
    });
    session.relays.add(job);
    void job.finally(() => session.relays.delete(job));
  }

  /** -m socks5: the SOCKS5 greeting, then a tunnel like CONNECT's (its answer was the greeting's reply). */
  private async dispatchSocks(session: ClientSession, socket: Socket): Promise<void> {
    const target = await socks5Greeting(socket, this.opts.proxyAuth ?? null);
    if (!target) return;
    session.authenticated = true;
    this.startTunnel(session, socket, target.host, target.port, target.head, null);
  }

  /**
   * What a tunnel carries decides what happens to it. A tunnel still to be answered (CONNECT)
   * connects to its target first, as mitmdump does, so that a refused or unresolvable target
   * gets a 502 instead of a 200 and a dead tunnel; `answer` null: answered already (SOCKS5).
   */
  private async tunnel(session: ClientSession, socket: Socket, host: string, port: number, head: Buffer, answer: TunnelAnswer | null): Promise<void> {
    if (hostMatches(this.opts.ignoreHosts, host, port)) return this.passThrough(session, socket, host, port, head, answer);
    if (answer) {
      // Offline (server replay), the tunnel is answered without a server behind it.
      if (!this.opts.offline) {
        try {
          await session.servers.connectEarly(host, port);
        } catch {
          return answer(false);
        }
      }
      answer(true);
    }
    const first = await firstBytes(socket, head);
    if (!first.length) return void socket.end();
    const tls = looksLikeTls(first);
    const ctx = this.context(session);
    if (hostMatches(this.opts.tcpHosts, host, port)) {
      const target = { host, port, tls };
      if (!tls) return relayTcp(ctx, socket, target, first);
      const decrypted = await this.interceptTls(session, socket, first, host, null);
      if (decrypted) await relayTcp(ctx, decrypted, target, Buffer.alloc(0));
      return;
    }
    session.tunnel = { host, port, tls } satisfies TunnelTarget;
    if (!tls) {
      socket.unshift(first);
      return this.toHttp(socket);
    }
    const decrypted = await this.interceptTls(session, socket, first, host, { scheme: "https", host, port });
    if (decrypted) this.serveHttp(session, decrypted);
  }

  /** Serves a decrypted client connection in the protocol its TLS handshake chose. */
  private serveHttp(session: ClientSession, tls: TLSSocket): void {
    if (tls.alpnProtocol !== "h2") return this.toHttp(tls);
    this.toH2(session, tls);
  }

  /** Hands a client connection that speaks HTTP/2 to the HTTP/2 server. */
  private toH2(session: ClientSession, socket: Socket): void {
    this.h2Pending = session;
    // A server-side TLSSocket made by hand keeps saying it is connecting, and Node's HTTP/2 would
    // wait for a "secureConnect" that only client sockets emit; the handshake is done by now.
    (socket as { secureConnecting?: boolean }).secureConnecting = false;
    try {
      // Data already read into the socket's buffer never reaches Node's HTTP/2, which reads the
      // native handle: such a socket is given as a stream over it instead.
      this.h2.emit("connection", socket.readableLength > 0 ? streamOver(socket) : socket);
    } finally {
      this.h2Pending = null;
    }
  }

  /**
   * The ALPN protocol to answer the client with, as mitmproxy chooses it: when the client
   * offers h2, the server is connected first with the client's offers and its choice is
   * mirrored; with no server to ask (or none reachable), the client's first HTTP protocol.
   * The connection made stays for the client's requests.
   */
  private async chooseAlpn(session: ClientSession, offers: string[], upstream: Endpoint | "http"): Promise<string | undefined> {
    const http: string[] = offers.filter((o) => o === "h2" || o === "http/1.1");
    if (!http.includes("h2")) return http[0];
    if (upstream === "http" || this.opts.offline) return http[0];
    try {
      // http/1.1 is offered too: the proxy translates when the client spoke only h2.
      const conn = await session.servers.open(upstream, false, http.includes("http/1.1") ? http : [...http, "http/1.1"]);
      const chosen = (conn.socket as TLSSocket).alpnProtocol;
      if (chosen === "h2") session.servers.shareH2(conn, upstream);
      else session.servers.release(conn, upstream, false, true);
      return chosen && http.includes(chosen) ? chosen : http[0];
    } catch {
      // The requests will fail with the reason, each as a flow.
      return http[0];
    }
  }

  /** --ignore-hosts: connect, say 200, and copy bytes both ways; nothing is recorded. */
  private async passThrough(session: ClientSession, socket: Socket, host: string, port: number, head: Buffer, answer: TunnelAnswer | null): Promise<void> {
    let upstream: Socket;
    try {
      upstream = await session.servers.rawTunnel({ scheme: "http", host, port });
    } catch {
      return answer ? answer(false) : void socket.destroy();
    }
    answer?.(true);
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
  private async interceptTls(
    session: ClientSession,
    socket: Socket,
    first: Buffer,
    host: string,
    /** where HTTP inside goes (https: asked for its ALPN choice), or null for a TCP relay */
    upstream: Endpoint | "http" | null,
  ): Promise<TLSSocket | null> {
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
    const names = offers.map((o) => o.toString("latin1"));
    // A TCP relay speaks HTTP/1.1 at most; a client offering nothing gets no ALPN (RFC 7301 §3.2).
    const alpn = upstream === null ? (names.includes("http/1.1") ? "http/1.1" : undefined) : await this.chooseAlpn(session, names, upstream);
    const tls = new TLSSocket(socket, {
      isServer: true,
      secureContext: leaf.context,
      ALPNProtocols: alpn ? [alpn] : undefined,
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
