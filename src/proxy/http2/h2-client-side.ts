/**
 * An HTTP/2 client's side of one exchange: a stream of its session, driven through Node's
 * core stream API (no compatibility request and response objects per exchange). The
 * response head is held until the first data or the end, so that a response whose head
 * ends the stream (no body, HEAD, 204, 304) still reaches the client only at `end`: after
 * the exchange was recorded.
 */
import { type IncomingHttpHeaders, type OutgoingHttpHeaders, type ServerHttp2Stream, constants } from "node:http2";
import { Writable } from "node:stream";
import { type ClientSide, type RequestBody, type RequestHead, answerHeaders, readAll, writeThrough } from "../http/client-side.js";
import { h2HeaderObject } from "./h2-headers.js";

const EMPTY = Buffer.alloc(0);

/** Node's respond options; `sendDate: false` keeps Node from adding a Date the server did not send. */
const RESPOND = { sendDate: false, waitForTrailers: false, endStream: false };
const RESPOND_WITH_TRAILERS = { sendDate: false, waitForTrailers: true, endStream: false };
const RESPOND_ENDED = { sendDate: false, waitForTrailers: false, endStream: true };

/** Statuses whose responses have no body (RFC 9110 §6.4.1). */
function bodiless(status: number): boolean {
  return status === 204 || status === 205 || status === 304 || (status >= 100 && status < 200);
}

/** One stream of an HTTP/2 client session. */
export class H2ClientSide implements ClientSide {
  readonly h2 = true;
  readonly head: RequestHead;
  private pending: OutgoingHttpHeaders | null = null;
  private trailers: OutgoingHttpHeaders | null = null;
  private started = false;
  /** no body may follow the head (HEAD request, 204, 304) */
  private noBody = false;

  constructor(
    private readonly stream: ServerHttp2Stream,
    headers: IncomingHttpHeaders,
    rawHeaders: string[],
    /** the request came with END_STREAM on its head: no body */
    private readonly ended: boolean,
  ) {
    this.head = { method: headers[":method"], url: headers[":path"], httpVersion: "2.0", httpVersionMajor: 2, rawHeaders };
    // a write after the client reset the stream errors it: the exchange learns of it otherwise
    stream.on("error", () => {});
  }

  get headStarted(): boolean {
    return this.started;
  }

  get destroyed(): boolean {
    return this.stream.destroyed || this.stream.closed;
  }

  get finished(): boolean {
    return this.stream.writableFinished;
  }

  onGone(gone: () => void): void {
    // "aborted": the stream closed (a reset, the connection lost) before the response ended.
    this.stream.on("aborted", gone); // once per stream at most
  }

  async readBody(): Promise<RequestBody> {
    if (this.ended) return { content: EMPTY, trailers: null };
    let trailers: string[] | null = null;
    this.stream.once("trailers", (_h: IncomingHttpHeaders, _flags: number, raw: string[]) => (trailers = raw.length ? raw : null));
    const content = await readAll(this.stream);
    return { content, trailers };
  }

  discardBody(): void {
    this.stream.resume();
  }

  writeHead(status: number, _reason: Buffer, headers: readonly string[]): void {
    this.started = true;
    this.noBody = this.head.method === "HEAD" || bodiless(status);
    this.pending = h2HeaderObject(headers, { ":status": String(status) });
  }

  setTrailers(trailers: readonly string[]): void {
    this.trailers = h2HeaderObject(trailers, {});
  }

  /** Sends the held head; `last` true when nothing follows it. */
  private respond(last: boolean): void {
    const headers = this.pending;
    if (!headers) return;
    this.pending = null;
    const trailers = this.trailers;
    if (trailers && !this.noBody) {
      this.stream.once("wantTrailers", () => this.stream.sendTrailers(trailers));
      this.stream.respond(headers, RESPOND_WITH_TRAILERS);
    } else this.stream.respond(headers, last ? RESPOND_ENDED : RESPOND);
  }

  write(part: Buffer): Promise<boolean> {
    const stream = this.stream;
    this.respond(false);
    if (this.noBody) return Promise.resolve(!this.destroyed);
    return writeThrough(stream, part);
  }

  sink(): Writable {
    this.respond(false);
    // nothing may follow the head: the body is dropped, as Node drops it for HTTP/1
    if (this.noBody) return new Writable({ write: (_c, _e, cb) => cb() });
    return this.stream;
  }

  end(last: Buffer | null): void {
    const body = last?.length && !this.noBody ? last : null;
    if (this.pending) {
      // The head alone ends the stream when nothing follows it (and no trailers wait).
      const alone = body === null && !(this.trailers && !this.noBody);
      this.respond(alone);
      if (alone) return;
    }
    if (this.stream.writableEnded) return;
    if (body) this.stream.end(body);
    else this.stream.end();
  }

  async delivered(): Promise<boolean> {
    const stream = this.stream;
    if (!stream.closed) await new Promise<void>((r) => stream.on("close", r));
    // closed with NO_ERROR once both sides ended; a reset, or the session lost, says otherwise
    return stream.writableFinished && stream.rstCode === constants.NGHTTP2_NO_ERROR;
  }

  answer(status: number, _reason: string, text: string, _close: boolean, challenge?: [string, string]): void {
    if (this.destroyed || this.stream.headersSent) return;
    const head = this.head.method === "HEAD";
    this.stream.respond({ ":status": status, ...answerHeaders(text, challenge) }, head ? RESPOND_ENDED : RESPOND);
    if (!head) this.stream.end(text);
  }

  breakOff(): void {
    if (!this.stream.destroyed) this.stream.close(constants.NGHTTP2_CANCEL);
  }
}
