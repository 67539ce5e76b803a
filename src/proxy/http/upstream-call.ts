/**
 * One request/response over a kept-alive server connection: the request written in one go,
 * the response read with ResponseReader, its body collected or streamed on with
 * backpressure. Failures reject with a ProxyFailure; afterwards the connection is either
 * reusable or destroyed.
 */
import type { Socket } from "node:net";
import type { Writable } from "node:stream";
import type { HeaderPair } from "../exchange.js";
import { ProxyFailure } from "../proxy-failure.js";
import { IncomingBody, type ResponseBody } from "./incoming-body.js";
import { type ResponseHead, ResponseReader, ResponseSyntaxError } from "./response-reader.js";

/** A request serialized for the wire (RFC 9112 §3): request line, the fields as given, the body framed as they say. */
export function serializeRequest(method: string, target: string, version: string, headers: readonly string[], body: Buffer | null): Buffer[] {
  let head = `${method} ${target} ${version}\r\n`;
  let chunked = false;
  let hasLength = false;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    head += `${name}: ${value}\r\n`;
    const lower = name.length === 14 || name.length === 17 ? name.toLowerCase() : "";
    if (lower === "content-length") hasLength = true;
    else if (lower === "transfer-encoding" && /chunked\s*$/i.test(value)) chunked = true;
  }
  const content = body ?? Buffer.alloc(0);
  // A body with no framing of its own gets a Content-Length, as Node's client would add.
  if (!chunked && !hasLength && content.length > 0) head += `Content-Length: ${content.length}\r\n`;
  head += "\r\n";
  const out: Buffer[] = [Buffer.from(head, "latin1")];
  if (chunked) {
    if (content.length) out.push(Buffer.from(`${content.length.toString(16)}\r\n`, "latin1"), content, Buffer.from("\r\n"));
    out.push(Buffer.from("0\r\n\r\n"));
  } else if (content.length) out.push(content);
  return out;
}

/** An exchange in progress with a server, over HTTP/1 or as an HTTP/2 stream. */
export interface ServerCall {
  /** true when the connection may carry the next request */
  readonly reusable: boolean;
  /** reads the rest of the body */
  body(): Promise<ResponseBody>;
  /** streams the rest of the body into `sink` (which it does not end) */
  pipeTo(sink: Writable): Promise<void>;
  /** gives up on the exchange */
  abort(): void;
}

/** A server connection's listeners, attached once, and the call they pass each event to. */
interface CallChannel {
  call: UpstreamCall | null;
}

const channels = new WeakMap<Socket, CallChannel>();

/** One exchange on `socket`. */
export class UpstreamCall implements ServerCall {
  private readonly reader: ResponseReader;
  private readonly channel: CallChannel;
  private readonly incoming = new IncomingBody();
  private onHead: ((h: ResponseHead) => void) | null = null;

  constructor(
    private readonly socket: Socket,
    method: string,
    private readonly where: string,
    private readonly timeoutMs: number,
  ) {
    this.reader = new ResponseReader(method, {
      head: (h) => this.onHead?.(h),
      body: (c) => this.incoming.push(c, socket),
      end: (t) => {
        this.detach();
        this.incoming.end(t);
      },
    });
    this.channel = UpstreamCall.channelOf(socket);
    this.channel.call = this;
    socket.setTimeout(timeoutMs);
  }

  /**
   * The channel of `socket`, made on its first call: a kept-alive connection carries many
   * calls, so its listeners are attached once rather than added and removed for each.
   */
  private static channelOf(socket: Socket): CallChannel {
    let channel = channels.get(socket);
    if (channel) return channel;
    const ch: CallChannel = { call: null };
    const onClose = (): void => ch.call?.closed();
    socket.on("data", (d: Buffer) => {
      // Bytes while no call runs: the server spoke unasked, so the connection is not reused.
      if (ch.call) ch.call.received(d);
      else socket.destroy();
    });
    socket.on("end", onClose);
    socket.on("close", onClose);
    socket.on("error", (e: Error) => {
      const call = ch.call;
      if (call) call.fail(ProxyFailure.fromUpstream(e, call.where));
    });
    socket.on("timeout", () => {
      const call = ch.call;
      if (call) call.fail(ProxyFailure.noAnswer(call.where, call.timeoutMs));
    });
    channels.set(socket, ch);
    return ch;
  }

  private received(d: Buffer): void {
    try {
      this.reader.push(d);
    } catch (e) {
      this.fail(new ProxyFailure("E_UPSTREAM_PROTOCOL", `Invalid HTTP from ${this.where}: ${(e as ResponseSyntaxError).message}`));
    }
  }

  private closed(): void {
    if (this.reader.close()) return;
    this.fail(ProxyFailure.cutShort(this.where));
  }

  /** True when the connection may carry the next request. */
  get reusable(): boolean {
    return this.incoming.ended && this.reader.reusable && !this.socket.destroyed;
  }

  /** Writes the request and resolves with the response head. */
  start(request: Buffer[]): Promise<ResponseHead> {
    return new Promise((resolve, reject) => {
      this.onHead = resolve;
      this.incoming.onFail = reject;
      if (this.incoming.failure) return reject(this.incoming.failure);
      if (request.length === 1) this.socket.write(request[0]!);
      else {
        this.socket.cork();
        for (const b of request) this.socket.write(b);
        this.socket.uncork();
      }
      this.socket.resume();
    });
  }

  /** Reads the rest of the body. */
  body(): Promise<ResponseBody> {
    return this.incoming.whole();
  }

  /** Streams the rest of the body into `sink` (which it does not end). */
  pipeTo(sink: Writable): Promise<void> {
    return this.incoming.pipeTo(sink);
  }

  /** Gives up on the exchange (the client went away, or a script killed it). */
  abort(): void {
    this.fail(ProxyFailure.clientGone());
  }

  private fail(f: ProxyFailure): void {
    if (this.incoming.failure || this.incoming.ended) return;
    this.detach();
    this.socket.destroy();
    this.incoming.fail(f);
  }

  private detach(): void {
    if (this.channel.call === this) this.channel.call = null;
    this.socket.setTimeout(0);
  }
}
