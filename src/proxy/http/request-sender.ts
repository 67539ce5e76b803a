/**
 * HTTP/1.1 requests sent on the proxy's own behalf, with no client connection behind them
 * (client replay): over kept-alive server connections, through the upstream proxy when there is one,
 * TLS verified unless -k, exactly as the proxy forwards a client's request.
 */
import type { Socket } from "node:net";
import { unixNow } from "../clock.js";
import type { ServerConnectionInfo } from "../connection-info.js";
import type { HttpRequestData, HttpResponseData } from "../exchange.js";
import { type Endpoint, hostPort } from "../proxy-mode.js";
import { ServerConnections } from "../server-connections.js";
import { UpstreamTls } from "../tls/upstream-tls.js";
import { flatHeaders } from "./header-pairs.js";
import { UpstreamCall, serializeRequest } from "./upstream-call.js";

/** How requests are sent. */
export interface RequestSenderOptions {
  /** don't verify server certificates */
  insecure: boolean;
  /** connect and inactivity timeout, ms */
  timeoutMs: number;
  /** an HTTP proxy every request goes through, or null */
  upstreamProxy: Endpoint | null;
}

/** The answer to a sent request, and the connection it came over. */
export interface SentExchange {
  response: HttpResponseData;
  server: ServerConnectionInfo;
}

/** Sends requests and reads their responses whole; a failure rejects with a ProxyFailure. */
export class RequestSender {
  private readonly servers: ServerConnections;

  constructor(private readonly opts: RequestSenderOptions) {
    this.servers = new ServerConnections(
      { tls: new UpstreamTls(opts.insecure), timeoutMs: opts.timeoutMs, upstreamProxy: opts.upstreamProxy },
      { connected: async () => {}, disconnected: async () => {} },
    );
  }

  /** Sends `out` (its headers as they are: the caller sets Host) and reads the response. */
  async send(out: HttpRequestData): Promise<SentExchange> {
    const proxy = this.opts.upstreamProxy;
    // Through an upstream proxy plain HTTP goes to the proxy in absolute-form (RFC 9112 §3.2.2).
    const toProxy = proxy !== null && out.scheme === "http";
    const target: Endpoint = toProxy ? proxy : { scheme: out.scheme, host: out.host, port: out.port };
    const where = hostPort(out.host, out.port);
    const conn = this.servers.takeIdle(target, toProxy) ?? (await this.servers.open(target, toProxy));
    const call = new UpstreamCall(conn.socket as Socket, out.method, where, this.opts.timeoutMs);
    const head = await call.start(
      serializeRequest(
        out.method,
        toProxy ? `${out.scheme}://${where}${out.path}` : out.path,
        out.httpVersion === "HTTP/1.0" ? "HTTP/1.0" : "HTTP/1.1",
        flatHeaders(out.headers),
        out.content,
      ),
    );
    const timestampStart = unixNow();
    const body = await call.body();
    this.servers.release(conn, target, toProxy, call.reusable);
    return {
      response: {
        httpVersion: head.httpVersion,
        statusCode: head.statusCode,
        reason: head.reason,
        headers: head.headers,
        content: body.content,
        trailers: body.trailers,
        timestampStart,
        timestampEnd: unixNow(),
      },
      server: conn.info,
    };
  }

  /** Closes every connection. */
  close(): Promise<void> {
    return this.servers.closeAll();
  }
}

