/**
 * The server connections of one client connection, as in mitmproxy: opened on demand
 * (TCP, through the upstream proxy's CONNECT when there is one, then TLS for https),
 * kept alive for the client's next requests, and closed when the client goes.
 */
import { type ClientHttp2Session, connect as http2Connect } from "node:http2";
import { type Socket, connect as netConnect, isIP } from "node:net";
import type { TLSSocket } from "node:tls";
import { unixNow } from "./clock.js";
import {
  type ServerConnectionInfo,
  type SocketAddress,
  addressOf,
  newServerInfo,
  tlsInfoOf,
} from "./connection-info.js";
import { ProxyFailure } from "./proxy-failure.js";
import { type Endpoint, hostPort } from "./proxy-mode.js";
import type { UpstreamTls, UpstreamTlsConnection } from "./tls/upstream-tls.js";

/** How server connections are made. */
export interface UpstreamSettings {
  /** TLS towards servers (verifying them unless -k), shared by all client connections */
  tls: UpstreamTls;
  /** connect and inactivity timeout */
  timeoutMs: number;
  /** the upstream proxy in upstream mode */
  upstreamProxy: Endpoint | null;
}

/** Told when a server connection opens (before it carries anything) and when it closed. */
export interface ServerConnectionEvents {
  connected(server: ServerConnectionInfo): Promise<void>;
  disconnected(server: ServerConnectionInfo): Promise<void>;
}

/** A socket made by ServerConnections, with its record. */
export interface ServerSocket {
  socket: Socket | TLSSocket;
  info: ServerConnectionInfo;
}

/** An HTTP/2 connection to a server, shared by every exchange of the client that goes there. */
export interface SharedH2Connection {
  session: ClientHttp2Session;
  info: ServerConnectionInfo;
}

/** Server connections of one client. */
export class ServerConnections {
  /** kept-alive connections between requests, by where they go */
  private readonly idle = new Map<string, ServerSocket[]>();
  /** HTTP/2 connections: one per server carries all of its exchanges at once */
  private readonly multiplexed = new Map<string, SharedH2Connection>();
  private readonly live = new Set<Socket>();
  /** connections made for CONNECT targets before their tunnel was answered, by host:port */
  private readonly early = new Map<string, Socket>();
  /** per tracked socket: settles once its serverdisconnect handler is done */
  private readonly disconnects = new Set<Promise<void>>();
  private closed = false;

  constructor(
    private readonly settings: UpstreamSettings,
    private readonly events: ServerConnectionEvents,
  ) {}

  /**
   * A kept-alive connection for one exchange with `target` (`toProxy`: the upstream proxy
   * itself), or null when there is none (then `open` one).
   */
  takeIdle(target: Endpoint, toProxy: boolean): ServerSocket | null {
    const list = this.idle.get(idleKey(target, toProxy));
    while (list?.length) {
      const s = list.pop()!;
      // A server that closed, or said something unasked, while the connection idled is not reused.
      if (!s.socket.destroyed && s.socket.readableLength === 0 && !s.socket.readableEnded) return s;
      s.socket.destroy();
    }
    return null;
  }

  /** The HTTP/2 connection to `target` that can take another stream, if there is one. */
  sharedH2(target: Endpoint): SharedH2Connection | null {
    const key = idleKey(target, false);
    const h2 = this.multiplexed.get(key);
    if (!h2) return null;
    if (!h2.session.closed && !h2.session.destroyed) return h2;
    this.multiplexed.delete(key);
    return null;
  }

  /** Makes a connection that negotiated h2 the shared HTTP/2 connection to `target`. */
  shareH2(s: ServerSocket, target: Endpoint): SharedH2Connection {
    const key = idleKey(target, false);
    const session = http2Connect(`https://${hostPort(target.host, target.port)}`, { createConnection: () => s.socket });
    // Failures reach each exchange through its stream; the connection itself just ends.
    session.on("error", () => s.socket.destroy());
    session.once("close", () => {
      if (this.multiplexed.get(key)?.session === session) this.multiplexed.delete(key);
      s.socket.destroy();
    });
    const shared = { session, info: s.info };
    if (!this.closed) this.multiplexed.set(key, shared);
    return shared;
  }

  /** Takes a connection back after an exchange: kept for the next request when it can carry one. */
  release(s: ServerSocket, target: Endpoint, toProxy: boolean, reusable: boolean): void {
    if (!reusable || this.closed || s.socket.destroyed) {
      s.socket.destroy();
      return;
    }
    const key = idleKey(target, toProxy);
    const list = this.idle.get(key) ?? [];
    list.push(s);
    this.idle.set(key, list);
  }

  /**
   * Opens a connection to `target` and waits for the serverconnect handler. With
   * `toProxy`, `target` is the upstream proxy itself (plain HTTP in upstream mode).
   */
  async open(target: Endpoint, toProxy = false, alpn: string[] = ["http/1.1"]): Promise<ServerSocket> {
    if (this.closed) throw ProxyFailure.clientGone();
    const proxy = this.settings.upstreamProxy;
    const via: [string, SocketAddress] | null = proxy ? [proxy.scheme, [proxy.host, proxy.port]] : null;
    // A connection to the upstream proxy carries requests for many hosts: each flow records its own.
    const info = newServerInfo(toProxy ? null : [target.host, target.port], target.scheme === "https", via);
    const where = hostPort(target.host, target.port);
    let socket: Socket | TLSSocket;
    try {
      const early = toProxy ? undefined : this.takeEarly(target);
      if (early) socket = early;
      else if (proxy && !toProxy) socket = await this.tunnelThrough(proxy, target);
      else socket = await this.tcp(toProxy && proxy ? proxy : target);
      info.timestampTcpSetup = unixNow();
      info.peername = addressOf(socket.remoteAddress, socket.remotePort);
      info.sockname = addressOf(socket.localAddress, socket.localPort);
      if (target.scheme === "https" && !toProxy) {
        const raw = socket;
        const sni = isIP(target.host) ? null : target.host;
        const tls = await this.tls(raw, target, sni, alpn).catch((e: Error) => {
          raw.destroy();
          throw e;
        });
        info.tlsInfo = tlsInfoOf(tls.socket, { sni, alpnOffers: alpn.map((a) => Buffer.from(a)), certificates: tls.certificates() });
        socket = tls.socket;
      }
      // The outermost socket is the one Node's HTTP client uses and closes.
      this.track(socket, info);
    } catch (e) {
      const failure = ProxyFailure.fromUpstream(e, where);
      info.error = failure.message;
      throw failure;
    }
    await this.events.connected(info);
    if (this.closed) {
      socket.destroy();
      throw ProxyFailure.clientGone();
    }
    return { socket, info };
  }

  private track(socket: Socket, info: ServerConnectionInfo): void {
    this.live.add(socket);
    socket.on("error", () => {}); // an idle connection's reset ends in "close", which cleans up
    socket.setNoDelay(true);
    const done = new Promise<void>((resolve) =>
      socket.once("close", () => {
        this.live.delete(socket);
        info.timestampEnd = unixNow();
        this.events.disconnected(info).catch(() => {}).finally(() => {
          this.disconnects.delete(done);
          resolve();
        });
      }),
    );
    this.disconnects.add(done);
  }

  /**
   * Connects to a CONNECT target before the tunnel is answered, as mitmdump does, so that a
   * refused or unresolvable target gets a 502 instead of a 200 and a dead tunnel. The
   * connection is the one the tunnel's first request then uses (see `open`).
   */
  async connectEarly(host: string, port: number): Promise<void> {
    const socket = await this.rawTunnel({ scheme: "http", host, port });
    const key = `${host}:${port}`;
    socket.on("error", () => {});
    socket.once("close", () => {
      if (this.early.get(key) === socket) this.early.delete(key);
    });
    this.early.get(key)?.destroy();
    this.early.set(key, socket);
  }

  /** The early connection to `target`, if it is still open. */
  private takeEarly(target: Endpoint): Socket | undefined {
    const key = `${target.host}:${target.port}`;
    const socket = this.early.get(key);
    this.early.delete(key);
    if (socket && !socket.destroyed && !socket.readableEnded) return socket;
    socket?.destroy();
    return undefined;
  }

  /** A TCP connection to `target` (through the upstream proxy if any), unrecorded: for --ignore-hosts. */
  async rawTunnel(target: Endpoint): Promise<Socket> {
    const proxy = this.settings.upstreamProxy;
    return proxy ? this.tunnelThrough(proxy, target) : this.tcp(target);
  }

  /** A TCP connection, failing after the timeout. */
  private tcp(to: Endpoint): Promise<Socket> {
    return new Promise((resolve, reject) => {
      const socket = netConnect({ host: to.host, port: to.port });
      socket.setNoDelay(true);
      const fail = (e: Error): void => {
        socket.destroy();
        reject(e);
      };
      socket.setTimeout(this.settings.timeoutMs, () =>
        fail(new ProxyFailure("E_UPSTREAM_TIMEOUT", `Connecting to ${hostPort(to.host, to.port)} timed out`)),
      );
      socket.once("error", fail);
      socket.once("connect", () => {
        socket.setTimeout(0);
        socket.removeListener("error", fail);
        resolve(socket);
      });
    });
  }

  /** A TCP tunnel to `target` through the upstream proxy's CONNECT (RFC 9110 §9.3.6). */
  private async tunnelThrough(proxy: Endpoint, target: Endpoint): Promise<Socket> {
    const socket = await this.tcp(proxy);
    const authority = hostPort(target.host, target.port);
    socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
    return new Promise((resolve, reject) => {
      let head = Buffer.alloc(0);
      const fail = (e: Error): void => {
        socket.destroy();
        reject(e);
      };
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end < 0) {
          if (head.length > 65536) fail(new ProxyFailure("E_UPSTREAM_PROXY", "Upstream proxy sent an oversized CONNECT response"));
          return;
        }
        socket.removeListener("data", onData);
        socket.removeListener("error", fail);
        socket.pause();
        const status = /^HTTP\/1\.[01] (\d{3})/.exec(head.toString("latin1"));
        if (!status || status[1]![0] !== "2") {
          const line = head.toString("latin1", 0, head.indexOf("\r\n"));
          return fail(new ProxyFailure("E_UPSTREAM_PROXY", `Upstream proxy refused CONNECT ${authority}: ${line}`));
        }
        const rest = head.subarray(end + 4);
        if (rest.length) socket.unshift(rest);
        resolve(socket);
      };
      socket.on("data", onData);
      socket.once("error", fail);
    });
  }

  /** TLS over `socket`, verifying the server unless --ssl-insecure; `sni` null for IP literals (RFC 6066 §3). */
  private tls(socket: Socket, target: Endpoint, sni: string | null, alpn: string[]): Promise<UpstreamTlsConnection> {
    return new Promise((resolve, reject) => {
      const connection = this.settings.tls.connect(socket, target.host, target.port, sni, alpn);
      const tls = connection.socket;
      const fail = (e: Error): void => {
        tls.destroy();
        reject(e);
      };
      tls.setTimeout(this.settings.timeoutMs, () =>
        fail(new ProxyFailure("E_UPSTREAM_TIMEOUT", `TLS handshake with ${hostPort(target.host, target.port)} timed out`)),
      );
      tls.once("error", fail);
      tls.once("secureConnect", () => {
        tls.setTimeout(0);
        tls.removeListener("error", fail);
        resolve(connection);
      });
    });
  }

  /** Closes every server connection and waits for their serverdisconnect handlers. */
  async closeAll(): Promise<void> {
    this.closed = true;
    this.idle.clear();
    this.multiplexed.clear();
    for (const s of this.early.values()) s.destroy();
    this.early.clear();
    for (const s of this.live) s.destroy();
    await Promise.all([...this.disconnects]);
  }
}

function idleKey(target: Endpoint, toProxy: boolean): string {
  return `${toProxy ? "proxy" : target.scheme}:${target.host}:${target.port}`;
}
