/**
 * The client's side of one exchange, whatever it speaks: the request head as it arrived,
 * its body, and where the response goes. HTTP/1 is Node's server request and response
 * (here); HTTP/2 is a stream of the client's session (http2/h2-client-side.ts), without
 * Node's compatibility objects.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable, Writable } from "node:stream";

/** Reads a stream to its end; rejects when it errors or closes first. */
export function readAll(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let ended = false;
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.once("end", () => {
      ended = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    stream.once("error", reject);
    stream.once("close", () => {
      if (!ended) reject(new Error("closed before the end of the body"));
    });
  });
}

/** Writes `part` to `sink`; resolves true once it has left, false when the sink closed first. */
export function writeThrough(sink: Writable, part: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const gone = (): void => resolve(false);
    sink.once("close", gone);
    sink.write(part, (e) => {
      sink.off("close", gone);
      resolve(!e);
    });
  });
}

/** The headers of an answer from the proxy itself. */
export function answerHeaders(text: string, challenge?: [string, string]): Record<string, string | number> {
  const headers: Record<string, string | number> = {
    "content-type": challenge ? "text/html" : "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(text),
  };
  if (challenge) headers[challenge[0]] = challenge[1];
  return headers;
}

/** A request's head as the client sent it (an HTTP/1 IncomingMessage is one). */
export interface RequestHead {
  method?: string;
  /** the request target (HTTP/2: `:path`) */
  url?: string;
  /** e.g. "1.1", "2.0" */
  httpVersion: string;
  httpVersionMajor: number;
  /** Node's flat latin1 list (HTTP/2: pseudo-headers included) */
  rawHeaders: string[];
}

/** A request body and its trailers (flat list), as read whole. */
export interface RequestBody {
  content: Buffer;
  trailers: string[] | null;
}

/** Where one exchange's response goes, and how the proxy learns the client went away. */
export interface ClientSide {
  readonly head: RequestHead;
  /** true when the client speaks HTTP/2 (no reason phrase, no connection-specific fields) */
  readonly h2: boolean;
  /** true once a response head was given (a failure after it breaks the client off instead of answering 502) */
  readonly headStarted: boolean;
  /** true when nothing more can reach the client */
  readonly destroyed: boolean;
  /** true once the whole response has been handed on */
  readonly finished: boolean;
  /** `gone` is called once if the client goes away before its response is delivered */
  onGone(gone: () => void): void;
  /** the request body, whole; rejects when the client goes first */
  readBody(): Promise<RequestBody>;
  /** the request body is not wanted */
  discardBody(): void;
  /** the response head (HTTP/2 may send it with the first data) */
  writeHead(status: number, reason: Buffer, headers: readonly string[]): void;
  /** trailers to send after the body (flat list, already fit for the protocol) */
  setTrailers(trailers: readonly string[]): void;
  /** writes part of the body; resolves true once it has left for the client, false when the client went first */
  write(part: Buffer): Promise<boolean>;
  /** a sink for a streamed body (the head goes out first) */
  sink(): Writable;
  /** sends `last` (if any) and ends the response */
  end(last: Buffer | null): void;
  /** resolves true once the ended response was delivered, false when the client went before */
  delivered(): Promise<boolean>;
  /** a whole answer from the proxy itself (refusals, 502): plain text, or HTML when a challenge header goes with it */
  answer(status: number, reason: string, text: string, close: boolean, challenge?: [string, string]): void;
  /** breaks the client's side off: its stream (HTTP/2) or its connection */
  breakOff(): void;
}

/** An HTTP/1 client: Node's server request and response. */
export class Http1ClientSide implements ClientSide {
  readonly h2 = false;

  constructor(
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    // Headers go out as the server or a script gave them: no invented Date.
    res.sendDate = false;
  }

  get head(): RequestHead {
    return this.req;
  }

  get headStarted(): boolean {
    return this.res.headersSent;
  }

  get destroyed(): boolean {
    return this.res.destroyed || this.req.socket.destroyed;
  }

  get finished(): boolean {
    return this.res.writableFinished;
  }

  onGone(gone: () => void): void {
    const res = this.res;
    res.once("close", () => {
      if (!res.writableFinished) gone();
    });
  }

  async readBody(): Promise<RequestBody> {
    const content = await readAll(this.req);
    return { content, trailers: this.req.rawTrailers.length ? this.req.rawTrailers : null };
  }

  discardBody(): void {
    this.req.resume();
  }

  writeHead(status: number, reason: Buffer, headers: readonly string[]): void {
    // writeHead only reads the list.
    this.res.writeHead(status, reason.toString("latin1"), headers as string[]);
  }

  setTrailers(trailers: readonly string[]): void {
    const pairs: [string, string][] = [];
    for (let i = 0; i + 1 < trailers.length; i += 2) pairs.push([trailers[i]!, trailers[i + 1]!]);
    this.res.addTrailers(pairs);
  }

  write(part: Buffer): Promise<boolean> {
    return writeThrough(this.res, part);
  }

  sink(): Writable {
    return this.res;
  }

  end(last: Buffer | null): void {
    this.res.end(last ?? undefined);
  }

  async delivered(): Promise<boolean> {
    const res = this.res;
    if (!res.writableFinished && !res.destroyed) await new Promise<void>((r) => res.once("close", r).once("finish", r));
    // Node also says "finish" when the client reset the connection under the write; the socket's error tells.
    return res.writableFinished && !this.req.socket.errored;
  }

  answer(status: number, reason: string, text: string, close: boolean, challenge?: [string, string]): void {
    const headers = answerHeaders(text, challenge);
    if (close) headers.connection = "close";
    this.res.writeHead(status, reason, headers);
    this.res.end(text);
  }

  breakOff(): void {
    this.req.socket.destroy();
  }
}
