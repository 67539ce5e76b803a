/**
 * One HTTP/1 exchange through the proxy: read the request whole, ask the handler, send it
 * on over the client's server connection (or answer it, or kill it), read the response,
 * ask again, send it back. Any failure ends as `exchange.failure`, a handler `error`, and
 * a 502 to the client while it is still there. Every exchange ends in `exchangeDone` once.
 */
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { unixNow } from "../clock.js";
import type { ClientSession } from "../client-session.js";
import { credentialsHeader } from "./basic-auth.js";
import type { ClientSide, RequestHead } from "./client-side.js";
import type { DeliveryBatch } from "./delivery-batch.js";
import { HttpExchange, type HttpRequestData, type HttpResponseData } from "../exchange.js";
import { flatHeaders, headerValue, pairsOf, rawHeaderValue, withRawHeader, withoutRawHeader } from "./header-pairs.js";
import { cameBackToUs, withViaToken } from "./loop-guard.js";
import type { ProxyHandler } from "../proxy-handler.js";
import { ProxyFailure } from "../proxy-failure.js";
import { type Endpoint, type ProxyMode, hostPort } from "../proxy-mode.js";
import { requestTarget } from "./request-target.js";
import { type ResponseHead, responseOf } from "./response-reader.js";
import { H2UpstreamCall } from "../http2/h2-upstream-call.js";
import { h2Fields, splitPseudo } from "../http2/h2-headers.js";
import { type ServerCall, UpstreamCall, serializeRequest } from "./upstream-call.js";

/** What an exchange needs from the proxy around it. */
export interface RelayContext {
  session: ClientSession;
  mode: ProxyMode;
  handler: ProxyHandler;
  timeoutMs: number;
  /** where whole responses wait to be recorded before they are ended */
  deliveries: DeliveryBatch;
}

/** `Host` as a reverse proxy sends it: the target, default ports left out. */
export function hostHeaderFor(t: Endpoint): string {
  const defaultPort = t.scheme === "https" ? 443 : 80;
  return t.port === defaultPort ? hostPort(t.host, t.port).replace(/:\d+$/, "") : hostPort(t.host, t.port);
}

/** The request as the client sent it, with the target worked out; null when it has none. */
export function recordRequest(req: RequestHead, ctx: RelayContext, timestampStart: number): HttpRequestData | null {
  const target = requestTarget(req.url ?? "/", ctx.mode, ctx.session.tunnel);
  if (!target) return null;
  let wire: readonly string[] = req.rawHeaders;
  let authority = target.authority;
  const h2 = req.httpVersionMajor === 2;
  if (h2) {
    // HTTP/2 requests are recorded as mitmproxy does: the authority apart, no pseudo-headers in the list.
    const { pseudo, fields } = splitPseudo(wire);
    wire = fields;
    authority = pseudo.get(":authority") ?? "";
  }
  // The credentials for the proxy are not the server's (mitmproxy drops them too); in reverse mode, those checked in Authorization.
  const checked = credentialsHeader(ctx.mode.kind === "reverse");
  if (ctx.session.authenticated && rawHeaderValue(wire, checked) !== null) wire = withoutRawHeader(wire, checked);
  // mitmproxy answers 100-continue itself and drops the expectation (Node has sent the 100 already).
  if (rawHeaderValue(wire, "expect")?.toLowerCase() === "100-continue") wire = withoutRawHeader(wire, "expect");
  if (ctx.mode.kind === "reverse" && !ctx.session.tunnel) {
    if (h2) authority = hostHeaderFor(ctx.mode.target);
    else wire = withRawHeader(wire, "host", hostHeaderFor(ctx.mode.target));
  }
  return {
    wire,
    method: req.method ?? "GET",
    scheme: target.scheme,
    host: target.host,
    port: target.port,
    authority,
    path: target.path,
    httpVersion: `HTTP/${req.httpVersion}`,
    headers: pairsOf(wire),
    content: null,
    trailers: null,
    timestampStart,
    timestampEnd: null,
  };
}

/**
 * The ALPN protocols offered to a server, as mitmproxy offers them: a client that spoke TLS
 * to the proxy has its own offers passed on (h2 only for an HTTP/2 exchange; none when it
 * offered none); other clients' requests offer http/1.1.
 */
export function upstreamAlpn(session: ClientSession, http2: boolean): string[] {
  const tls = session.info.tls;
  if (!tls) return ["http/1.1"];
  const offers = tls.alpnOffers.map((o) => o.toString("latin1"));
  return offers.filter((o) => o === "http/1.1" || (http2 && o === "h2"));
}

/** Bodies up to this size go out in one write after the exchange is recorded (they fit a socket's send buffer). */
const SENT_WHOLE = 64 * 1024;

/** Runs one exchange from the request that arrived to its end. */
export class HttpRelay {
  private call: ServerCall | null = null;
  private clientGone = false;

  constructor(
    private readonly ctx: RelayContext,
    private readonly exchange: HttpExchange,
    private readonly client: ClientSide,
  ) {
    client.onGone(() => {
      this.clientGone = true;
      this.call?.abort();
    });
  }

  /** Starts an exchange for the request that arrived on `client`. */
  static async handle(ctx: RelayContext, client: ClientSide): Promise<void> {
    if (ctx.mode.kind !== "regular" && cameBackToUs(client.head.rawHeaders)) {
      client.discardBody();
      return client.answer(508, "Loop Detected", "reflow: loop detected: this request was relayed by this proxy already\n", true);
    }
    // Answers the proxy gives requests it cannot route have no flow: there is no target to record.
    const request = recordRequest(client.head, ctx, unixNow());
    if (!request) {
      client.discardBody();
      return client.answer(400, "Bad Request", "reflow: this is a proxy; send absolute-form requests (http://host/path) or CONNECT\n", true);
    }
    const ex = new HttpExchange(ctx.session.info, request);
    ctx.session.exchanges.add(ex);
    await new HttpRelay(ctx, ex, client).run();
  }

  private async run(): Promise<void> {
    const { exchange: ex, ctx } = this;
    try {
      try {
        const body = await this.client.readBody();
        ex.request.content = body.content;
        if (body.trailers) ex.request.trailers = pairsOf(body.trailers);
        ex.request.timestampEnd = unixNow();
      } catch {
        return await this.fail(ProxyFailure.clientGone("before the request was complete"));
      }
      const verdict = await ctx.handler.request(ex);
      if (this.clientGone) return await this.fail(ProxyFailure.clientGone());
      if (verdict.kind === "kill") return await this.kill();
      if (verdict.kind === "respond") {
        // Answered by a script: nothing goes upstream.
        ex.response = verdict.response;
        return await this.deliver(verdict.response);
      }
      await this.forward(verdict.request);
    } catch (e) {
      await this.fail(ProxyFailure.of(e));
    }
  }

  /** Sends the request upstream over the client's server connection and relays the response. */
  private async forward(out: HttpRequestData): Promise<void> {
    const { ctx, exchange: ex } = this;
    const servers = ctx.session.servers;
    const proxy = ctx.mode.kind === "upstream" ? ctx.mode.proxy : null;
    // Through an upstream proxy plain HTTP goes to the proxy in absolute-form (RFC 9112 §3.2.2).
    const toProxy = proxy !== null && out.scheme === "http";
    const target: Endpoint = toProxy ? { scheme: "http", host: proxy.host, port: proxy.port } : { scheme: out.scheme, host: out.host, port: out.port };
    const where = hostPort(out.host, out.port);
    // reverse and upstream targets may lead back here: the request sent is marked (see loop-guard.ts)
    const sent = ctx.mode.kind === "regular" ? out : { ...out, wire: withViaToken(out.wire ?? flatHeaders(out.headers)) };
    const started = await this.startCall(sent, target, toProxy, where);
    const { call, release } = started;
    let head: ResponseHead;
    try {
      head = await started.head;
    } catch (e) {
      throw this.clientGone ? ProxyFailure.clientGone() : e;
    }
    const response = responseOf(head);
    ex.response = response;
    const hv = await ctx.handler.responseHeaders(ex);
    if (this.clientGone) return this.fail(ProxyFailure.clientGone());
    if (hv.kind === "kill") return this.kill();

    if (hv.stream) {
      // Streamed: the client gets the body as it comes; nothing of it is recorded.
      this.writeHead(response);
      const sink = this.client.sink();
      try {
        await call.pipeTo(sink);
      } catch (e) {
        return this.fail(this.clientGone ? ProxyFailure.clientGone() : (e as ProxyFailure));
      }
      release(call.reusable);
      this.client.end(null);
      response.timestampEnd = unixNow();
      const v = await ctx.handler.response(ex);
      if (v.kind === "kill") return this.kill();
      return this.awaitDelivery();
    }

    try {
      const body = await call.body();
      response.content = body.content;
      response.trailers = body.trailers;
    } catch (e) {
      return this.fail(this.clientGone ? ProxyFailure.clientGone() : (e as ProxyFailure));
    }
    release(call.reusable);
    response.timestampEnd = unixNow();
    const verdict = await ctx.handler.response(ex);
    if (verdict.kind === "kill") return this.kill();
    await this.deliver(verdict.response);
  }

  /**
   * Starts the exchange with the server: a stream of the shared HTTP/2 connection there,
   * or a request on a kept-alive (or new) connection, HTTP/1 unless the server chose h2.
   */
  private async startCall(
    out: HttpRequestData,
    target: Endpoint,
    toProxy: boolean,
    where: string,
  ): Promise<{ call: ServerCall; head: Promise<ResponseHead>; release: (reusable: boolean) => void }> {
    const { ctx, exchange: ex } = this;
    const servers = ctx.session.servers;
    let h2 = toProxy ? null : servers.sharedH2(target);
    if (!h2) {
      // A request that came over HTTP/2 may go on over HTTP/2; one over HTTP/1 stays HTTP/1.
      const h2Request = out.httpVersion === "HTTP/2.0";
      let alpn = upstreamAlpn(ctx.session, h2Request);
      // An h2-only client's request may still reach an HTTP/1.1 server: the proxy translates.
      if (h2Request && !alpn.includes("http/1.1")) alpn = [...alpn, "http/1.1"];
      const conn = servers.takeIdle(target, toProxy) ?? (await servers.open(target, toProxy, alpn));
      if (this.clientGone) {
        servers.release(conn, target, toProxy, false);
        throw ProxyFailure.clientGone();
      }
      if ((conn.socket as TLSSocket).alpnProtocol === "h2") h2 = servers.shareH2(conn, target);
      else {
        ex.server = conn.info;
        const call = new UpstreamCall(conn.socket as Socket, out.method, where, ctx.timeoutMs);
        this.call = call;
        let fields = out.wire ?? flatHeaders(out.headers);
        // HTTP/2 has no connection headers and carries Host as :authority.
        if (out.httpVersion === "HTTP/2.0") fields = withRawHeader(h2Fields(fields), "host", out.authority || where);
        const request = serializeRequest(
          out.method,
          toProxy ? `${out.scheme}://${where}${out.path}` : out.path,
          out.httpVersion === "HTTP/1.0" ? "HTTP/1.0" : "HTTP/1.1",
          fields,
          out.content,
        );
        return { call, head: call.start(request), release: (reusable) => servers.release(conn, target, toProxy, reusable) };
      }
    }
    ex.server = h2.info;
    const call = new H2UpstreamCall(h2.session, where, ctx.timeoutMs);
    this.call = call;
    return { call, head: call.start(out), release: () => {} };
  }

  /** Headers as the client should get them: an HTTP/1.0 client cannot read chunked framing. */
  private clientHeaders(r: HttpResponseData): readonly string[] {
    if (this.client.h2) return h2Fields(r.wire ?? flatHeaders(r.headers));
    if (this.client.head.httpVersion === "1.0" && headerValue(r.headers, "transfer-encoding") !== null && r.content !== null)
      return withRawHeader(withoutRawHeader(flatHeaders(r.headers), "transfer-encoding"), "content-length", String(r.content.length));
    return r.wire ?? flatHeaders(r.headers);
  }

  private writeHead(r: HttpResponseData): void {
    this.client.writeHead(r.statusCode, r.reason, this.clientHeaders(r));
  }

  /**
   * Sends a whole response to the client and waits until it is out. The handler records the
   * exchange (`responseDelivering`) before the client can have all of it, so a client that has
   * a whole response has its flow on disk: a small response is recorded before it is sent (in
   * one write, as before); of a large one the last byte waits until the rest is out and the
   * exchange is recorded (a client that stops reading it is still recorded as gone).
   */
  private async deliver(r: HttpResponseData): Promise<void> {
    if (this.clientGone) return this.fail(ProxyFailure.clientGone());
    const body = r.content ?? null;
    const held = body && body.length > SENT_WHOLE ? body.subarray(body.length - 1) : body;
    const client = this.client;
    try {
      this.writeHead(r);
      if (r.trailers?.length && (client.h2 || /chunked/i.test(headerValue(r.headers, "transfer-encoding") ?? "")))
        client.setTrailers(client.h2 ? h2Fields(flatHeaders(r.trailers)) : flatHeaders(r.trailers));
      if (body && held !== body && !(await client.write(body.subarray(0, body.length - 1)))) return await this.fail(ProxyFailure.clientGone());
    } catch (e) {
      return this.fail(new ProxyFailure("E_UPSTREAM_PROTOCOL", `Response not sendable: ${(e as Error).message}`));
    }
    const open = (): boolean => !this.clientGone && !client.destroyed;
    if (!open() || !(await this.ctx.deliveries.recorded(this.exchange, open))) return this.fail(ProxyFailure.clientGone());
    try {
      client.end(held);
    } catch (e) {
      // HTTP/2 sends the head with the end (Node checks its fields only then)
      return this.fail(new ProxyFailure("E_UPSTREAM_PROTOCOL", `Response not sendable: ${(e as Error).message}`));
    }
    await this.awaitDelivery();
  }

  private async awaitDelivery(): Promise<void> {
    if (this.clientGone || !(await this.client.delivered())) return this.fail(ProxyFailure.clientGone("before the response was delivered"));
    await this.finish();
  }

  /** Closes the client connection: a script killed the flow. */
  private async kill(): Promise<void> {
    this.call?.abort();
    this.client.breakOff();
    await this.fail(ProxyFailure.killed());
  }

  /** Records the failure, tells the handler, and gives the client a 502 if it can still take one. */
  private async fail(failure: ProxyFailure): Promise<void> {
    const ex = this.exchange;
    if (ex.done || ex.failure) return;
    ex.failure = failure;
    this.call?.abort();
    try {
      await this.ctx.handler.error(ex);
    } finally {
      const client = this.client;
      if (!this.clientGone && !client.headStarted && failure.code !== "E_KILLED" && !client.destroyed)
        client.answer(502, "Bad Gateway", failure.clientText, false);
      else if (client.headStarted && !client.finished) {
        // Half a response went out: the client must see the connection break, not a short body.
        client.breakOff();
      }
      await this.finish();
    }
  }

  private async finish(): Promise<void> {
    const ex = this.exchange;
    if (ex.done) return;
    ex.done = true;
    this.ctx.session.exchanges.delete(ex);
    await this.ctx.handler.exchangeDone(ex);
  }
}
