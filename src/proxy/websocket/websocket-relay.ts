/**
 * WebSocket upgrades (RFC 6455 §4): the handshake goes through the handler like any
 * request and response, then frames are relayed as they come, both ways. Each complete
 * message is reported; when the handler intercepts messages, a message is held until it
 * answers and then sent as one frame (changed or not), or dropped.
 */
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { unixNow } from "../clock.js";
import { HttpExchange, type HttpResponseData } from "../exchange.js";
import { flatHeaders, withRawHeader, withoutRawHeader } from "../http/header-pairs.js";
import { type RelayContext, recordRequest, upstreamAlpn } from "../http/http-relay.js";
import { responseOf } from "../http/response-reader.js";
import { serializeRequest } from "../http/upstream-call.js";
import type { WebSocketClose } from "../proxy-handler.js";
import { ProxyFailure } from "../proxy-failure.js";
import { type Endpoint, hostPort } from "../proxy-mode.js";
import { upgradeCall } from "./upgrade-call.js";
import { type Frame, FrameError, FrameReader, MessageAssembler, Opcode, encodeFrame, parseClose } from "./websocket-frames.js";

/** An HTTP/1 response head and body as bytes. */
function rawResponse(r: HttpResponseData): Buffer {
  const lines = [`HTTP/1.1 ${r.statusCode} ${r.reason.toString("latin1")}`];
  let fields = r.wire ?? flatHeaders(r.headers);
  // A body goes out whole: its length is known, whatever framing it came with.
  if (r.content !== null) fields = withRawHeader(withoutRawHeader(fields, "transfer-encoding"), "content-length", String(r.content.length));
  for (let i = 0; i + 1 < fields.length; i += 2) lines.push(`${fields[i]}: ${fields[i + 1]}`);
  const head = Buffer.from(lines.join("\r\n") + "\r\n\r\n", "latin1");
  return r.content?.length ? Buffer.concat([head, r.content]) : head;
}


/** Handles one Upgrade request from its arrival to the WebSocket's end. */
export class WebSocketUpgrade {
  private close: WebSocketClose | null = null;
  private ended = false;

  private constructor(
    private readonly ctx: RelayContext,
    private readonly ex: HttpExchange,
    private readonly client: Duplex,
  ) {}

  static async handle(ctx: RelayContext, req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    const request = recordRequest(req, ctx, unixNow());
    if (!request) {
      client.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
      return;
    }
    request.content = Buffer.alloc(0);
    request.timestampEnd = unixNow();
    const ex = new HttpExchange(ctx.session.info, request);
    ctx.session.exchanges.add(ex);
    await new WebSocketUpgrade(ctx, ex, client).run(head);
  }

  private async run(clientHead: Buffer): Promise<void> {
    const { ctx, ex, client } = this;
    let clientGone = false;
    client.on("error", () => {});
    client.once("close", () => (clientGone = true));
    try {
      const verdict = await ctx.handler.request(ex);
      if (verdict.kind === "kill") return await this.fail(ProxyFailure.killed());
      if (verdict.kind === "respond") {
        ex.response = verdict.response;
        client.end(rawResponse(verdict.response));
        return await this.finish();
      }
      const out = verdict.request;
      const proxy = ctx.mode.kind === "upstream" ? ctx.mode.proxy : null;
      // As for any request: plain HTTP goes to the upstream proxy in absolute-form, TLS through its CONNECT.
      const toProxy = proxy !== null && out.scheme === "http";
      const where = hostPort(out.host, out.port);
      const target: Endpoint = toProxy ? { scheme: "http", host: proxy.host, port: proxy.port } : { scheme: out.scheme, host: out.host, port: out.port };
      // An upgraded connection is the WebSocket's alone: a new one, never a kept-alive one.
      const conn = await ctx.session.servers.open(target, toProxy, upstreamAlpn(ctx.session, false));
      ex.server = conn.info;
      // No extensions are negotiated upstream (permessage-deflate would hide the payloads).
      const headers = withoutRawHeader(out.wire ?? flatHeaders(out.headers), "sec-websocket-extensions");
      const request = serializeRequest(out.method, toProxy ? `http://${where}${out.path}` : out.path, "HTTP/1.1", headers, null);
      const answer = await upgradeCall(conn.socket, request, out.method, where, ctx.timeoutMs);
      const response = responseOf(answer.head);
      ex.response = response;
      if (answer.head.statusCode !== 101) {
        // The server declined the upgrade: an ordinary response.
        conn.socket.destroy();
        response.content = answer.content;
        response.trailers = answer.trailers;
        response.timestampEnd = unixNow();
        const hv = await ctx.handler.responseHeaders(ex);
        if (hv.kind === "kill") return await this.fail(ProxyFailure.killed());
        const v = await ctx.handler.response(ex);
        if (v.kind === "kill") return await this.fail(ProxyFailure.killed());
        client.end(rawResponse(v.response));
        return await this.finish();
      }
      const server = conn.socket;
      server.on("error", () => {});
      response.content = Buffer.alloc(0);
      response.timestampEnd = unixNow();
      const hv = await ctx.handler.responseHeaders(ex);
      if (hv.kind === "kill") {
        server.destroy();
        return await this.fail(ProxyFailure.killed());
      }
      const v = await ctx.handler.response(ex);
      if (v.kind === "kill" || clientGone) {
        server.destroy();
        return await this.fail(
          v.kind === "kill" ? ProxyFailure.killed() : ProxyFailure.clientGone(),
        );
      }
      ex.websocket = true;
      client.write(rawResponse({ ...v.response, content: null }));
      await this.relay(server, clientHead, answer.rest);
    } catch (e) {
      await this.fail(ProxyFailure.of(e));
    }
  }

  /** Relays frames both ways until both sides are gone. */
  private relay(server: Duplex, clientHead: Buffer, serverHead: Buffer): Promise<void> {
    const { ctx, ex, client } = this;
    const intercept = ctx.handler.interceptsWebSocketMessages();
    // One queue for both directions keeps the recorded order the order of arrival.
    let queue: Promise<unknown> = Promise.resolve();
    return new Promise<void>((resolve) => {
      let open = 2;
      let lingering: NodeJS.Timeout | null = null;
      const end = (): void => {
        if (this.ended) return;
        this.ended = true;
        if (lingering) clearTimeout(lingering);
        client.destroy();
        server.destroy();
        void queue
          .then(async () => {
            this.close ??= { closedByClient: null, code: 1006, reason: "", timestampEnd: unixNow() };
            this.close.timestampEnd = unixNow();
            try {
              await ctx.handler.websocketEnd(ex, this.close);
            } finally {
              await this.finish();
            }
          })
          .catch(() => {}) // (the handler reports its own failures)
          .finally(resolve);
      };
      const sideClosed = (hadError: boolean): void => {
        if (--open === 0 || hadError) end();
      };
      const halfClosed = (to: Duplex): void => {
        // Pass the end on once what was read before it is out; don't wait forever for the other side.
        queue = queue.then(() => to.end());
        lingering ??= setTimeout(end, 5000);
      };
      const pipe = (from: Duplex, to: Duplex, fromClient: boolean, head: Buffer): void => {
        const reader = new FrameReader();
        const assembler = new MessageAssembler();
        const onFrame = (frame: Frame): void => {
          const isData = frame.opcode === Opcode.TEXT || frame.opcode === Opcode.BINARY || frame.opcode === Opcode.CONTINUATION;
          if (frame.opcode === Opcode.CLOSE && !this.close) {
            const { code, reason } = parseClose(frame.payload);
            this.close = { closedByClient: fromClient, code, reason, timestampEnd: unixNow() };
          }
          if (!intercept) write(to, frame.raw, from);
          // Held messages go out in order with the control frames around them (a close must not overtake them).
          else if (!isData) queue = queue.then(() => write(to, frame.raw, from));
          if (!isData) return;
          const message = assembler.add(frame);
          if (!message) return;
          const data = { opcode: message.opcode, fromClient, content: message.content, timestamp: unixNow() };
          if (!intercept) {
            queue = queue.then(() => ctx.handler.websocketMessage(ex, data)).catch(() => {});
            return;
          }
          // Held: later frames from this side wait until the handler answered.
          from.pause();
          queue = queue
            .then(() => ctx.handler.websocketMessage(ex, data))
            .then((content) => {
              if (content !== null) write(to, encodeFrame(message.opcode, content, fromClient), from);
            })
            .catch(() => {})
            .finally(() => {
              if (!this.ended) from.resume();
            });
        };
        const onData = (chunk: Buffer): void => {
          try {
            for (const f of reader.push(chunk)) onFrame(f);
          } catch (e) {
            if (e instanceof FrameError) end();
            else throw e;
          }
        };
        if (head.length) onData(head);
        from.on("data", onData);
        from.once("end", () => halfClosed(to));
        from.once("close", (hadError: boolean) => sideClosed(hadError));
        // The server socket was paused once its upgrade answer was read.
        from.resume();
      };
      pipe(client, server, true, clientHead);
      pipe(server, client, false, serverHead);
    });
  }

  private async fail(failure: ProxyFailure): Promise<void> {
    const { ex, client } = this;
    if (ex.done || ex.failure) return;
    ex.failure = failure;
    try {
      await this.ctx.handler.error(ex);
    } finally {
      if (failure.code !== "E_KILLED" && !client.destroyed && !ex.websocket) {
        const text = failure.clientText;
        client.end(`HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`);
      } else client.destroy();
      await this.finish();
    }
  }

  private async finish(): Promise<void> {
    if (this.ex.done) return;
    this.ex.done = true;
    this.ctx.session.exchanges.delete(this.ex);
    await this.ctx.handler.exchangeDone(this.ex);
  }
}

/** Writes with backpressure: the source pauses while the destination's buffer is full. */
function write(to: Duplex, bytes: Buffer, from: Duplex): void {
  if (to.destroyed) return;
  if (!to.write(bytes)) {
    from.pause();
    to.once("drain", () => from.resume());
  }
}
