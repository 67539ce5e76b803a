/**
 * Reading an HTTP/1 response off a server connection (RFC 9112): status line, header
 * fields as their exact bytes, then the body framed by the rules of §6.3 (no body for HEAD,
 * 1xx, 204 and 304; chunked with trailers; Content-Length; else until the connection closes).
 * A lean reader: Node's HTTP client costs about as much per request as the rest of the proxy.
 */
import { unixNow } from "../clock.js";
import type { HeaderPair, HttpResponseData } from "../exchange.js";

/** The head of a response. */
export interface ResponseHead {
  httpVersion: string;
  statusCode: number;
  reason: Buffer;
  headers: HeaderPair[];
  /** the headers as a flat latin1 list (name, value, …), as Node's `rawHeaders` */
  wire: string[];
}

/**
 * The response as recorded once its head has arrived: no body yet, started now. Spelled out
 * field by field: `{ ...head, more }` falls off V8's fast path (microseconds per exchange).
 */
export function responseOf(head: ResponseHead): HttpResponseData {
  return {
    httpVersion: head.httpVersion,
    statusCode: head.statusCode,
    reason: head.reason,
    headers: head.headers,
    wire: head.wire,
    content: null,
    trailers: null,
    timestampStart: unixNow(),
    timestampEnd: null,
  };
}

/** A response that breaks HTTP/1 (RFC 9112). */
export class ResponseSyntaxError extends Error {}

const MAX_HEAD = 256 * 1024;
const CRLFCRLF = Buffer.from("\r\n\r\n");

/** The characters String#trim removes that latin1 has: TAB, LF, VT, FF, CR, space, NBSP. */
function isTrimmed(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0;
}

type BodyMode = { kind: "none" } | { kind: "length"; left: number } | { kind: "chunked" } | { kind: "close" };

/** Parses one response from chunks pushed in; tells the head, body chunks and the end. */
export class ResponseReader {
  private buf: Buffer | null = null;
  private head: ResponseHead | null = null;
  private mode: BodyMode = { kind: "none" };
  /** chunked decoding state: bytes of chunk data still due, or -1 while reading a size line */
  private chunkLeft = -1;
  private inTrailers = false;
  private trailers: HeaderPair[] = [];
  /** true once the whole response was read */
  done = false;
  /** false when the connection cannot carry another request after this response */
  reusable = true;
  /** bytes read past the end of the response (after a 101, the new protocol's first bytes) */
  rest: Buffer | null = null;

  constructor(
    private readonly method: string,
    private readonly events: {
      head(head: ResponseHead): void;
      body(chunk: Buffer): void;
      end(trailers: HeaderPair[] | null): void;
    },
  ) {}

  /** Feeds bytes read from the connection; returns bytes after the end of the response (should be none). */
  push(chunk: Buffer): void {
    this.buf = this.buf && this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    while (!this.done && this.buf && this.buf.length) {
      if (!this.head) {
        if (!this.readHead()) return;
        continue;
      }
      if (!this.readBody()) return;
    }
  }

  /** The connection ended: completes a close-delimited body; false when the response was cut short. */
  close(): boolean {
    if (this.done) return true;
    if (this.head && this.mode.kind === "close") {
      this.finish(null);
      return true;
    }
    return false;
  }

  private readHead(): boolean {
    const buf = this.buf!;
    const end = buf.indexOf(CRLFCRLF);
    if (end < 0) {
      if (buf.length > MAX_HEAD) throw new ResponseSyntaxError("response head too large");
      return false;
    }
    // latin1: a character per byte, so positions in `text` are positions in `buf`.
    const text = buf.toString("latin1", 0, end);
    let eol = text.indexOf("\r\n");
    if (eol < 0) eol = end;
    const statusLine = text.slice(0, eol);
    const m = /^HTTP\/(\d)\.(\d) (\d{3})(?: (.*))?$/.exec(statusLine);
    if (!m) throw new ResponseSyntaxError(`bad status line ${JSON.stringify(statusLine.slice(0, 80))}`);
    const statusCode = Number(m[3]);
    // Field names and values are views of the bytes read, not copies.
    const headers: HeaderPair[] = [];
    const wire: string[] = [];
    let contentLength: number | null = null;
    let chunked = false;
    let connection = "";
    for (let pos = eol + 2; pos < end; ) {
      let next = text.indexOf("\r\n", pos);
      if (next < 0) next = end;
      const colon = text.indexOf(":", pos);
      const first = text.charCodeAt(pos);
      if (colon <= pos || colon >= next || first === 0x20 || first === 0x09)
        throw new ResponseSyntaxError(`bad header line ${JSON.stringify(text.slice(pos, Math.min(next, pos + 80)))}`);
      let from = colon + 1;
      let to = next;
      while (from < to && isTrimmed(text.charCodeAt(from))) from++;
      while (to > from && isTrimmed(text.charCodeAt(to - 1))) to--;
      const name = text.slice(pos, colon);
      const value = text.slice(from, to);
      wire.push(name, value);
      headers.push([buf.subarray(pos, colon), buf.subarray(from, to)]);
      pos = next + 2;
      // Only names as long as the three that frame the message are worth lowercasing.
      if (name.length !== 14 && name.length !== 17 && name.length !== 10) continue;
      const lower = name.toLowerCase();
      if (lower === "content-length") {
        if (!/^\d+$/.test(value) || (contentLength !== null && contentLength !== Number(value)))
          throw new ResponseSyntaxError(`bad Content-Length ${JSON.stringify(value)}`);
        contentLength = Number(value);
      } else if (lower === "transfer-encoding") chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
      else if (lower === "connection") connection += "," + value.toLowerCase();
    }
    this.buf = buf.subarray(end + 4);
    const version = `HTTP/${m[1]}.${m[2]}`;
    if (statusCode >= 100 && statusCode < 200 && statusCode !== 101) return true; // interim (100 Continue, 103): skip it
    // The reason starts after "HTTP/1.1 200 " (13 characters), when there is one.
    this.head = { httpVersion: version, statusCode, reason: buf.subarray(m[4] === undefined ? eol : 13, eol), headers, wire };
    // RFC 9112 §9.3: HTTP/1.1 persists unless "close"; HTTP/1.0 only with "keep-alive".
    this.reusable = version === "HTTP/1.1" ? !/(?:^|,)\s*close\s*(?:,|$)/.test(connection) : /keep-alive/.test(connection);
    if (this.method === "HEAD" || statusCode === 101 || statusCode === 204 || statusCode === 304) this.mode = { kind: "none" };
    else if (chunked) this.mode = { kind: "chunked" };
    else if (contentLength !== null) this.mode = { kind: "length", left: contentLength };
    else {
      this.mode = { kind: "close" };
      this.reusable = false;
    }
    this.events.head(this.head);
    if (this.mode.kind === "none" || (this.mode.kind === "length" && this.mode.left === 0)) this.finish(null);
    return true;
  }

  private readBody(): boolean {
    const buf = this.buf!;
    const mode = this.mode;
    if (mode.kind === "close") {
      this.buf = null;
      this.events.body(buf);
      return false;
    }
    if (mode.kind === "length") {
      const take = Math.min(mode.left, buf.length);
      this.events.body(buf.subarray(0, take));
      mode.left -= take;
      this.buf = buf.subarray(take);
      if (mode.left === 0) this.finish(null);
      return !this.done && this.buf.length > 0;
    }
    if (mode.kind === "chunked") return this.readChunked();
    return false;
  }

  private readChunked(): boolean {
    const buf = this.buf!;
    if (this.inTrailers) {
      const eol = buf.indexOf("\r\n");
      if (eol < 0) return false;
      this.buf = buf.subarray(eol + 2);
      if (eol === 0) {
        this.finish(this.trailers.length ? this.trailers : null);
        return false;
      }
      const line = buf.toString("latin1", 0, eol);
      const colon = line.indexOf(":");
      if (colon <= 0) throw new ResponseSyntaxError("bad trailer line");
      this.trailers.push([Buffer.from(line.slice(0, colon), "latin1"), Buffer.from(line.slice(colon + 1).trim(), "latin1")]);
      return true;
    }
    if (this.chunkLeft < 0) {
      const eol = buf.indexOf("\r\n");
      if (eol < 0) {
        if (buf.length > 4096) throw new ResponseSyntaxError("chunk size line too long");
        return false;
      }
      const sizeText = buf.toString("latin1", 0, eol).split(";")[0]!.trim();
      if (!/^[0-9a-fA-F]{1,12}$/.test(sizeText)) throw new ResponseSyntaxError(`bad chunk size ${JSON.stringify(sizeText)}`);
      const size = parseInt(sizeText, 16);
      this.buf = buf.subarray(eol + 2);
      if (size === 0) this.inTrailers = true;
      else this.chunkLeft = size;
      return true;
    }
    if (this.chunkLeft > 0) {
      const take = Math.min(this.chunkLeft, buf.length);
      this.events.body(buf.subarray(0, take));
      this.chunkLeft -= take;
      this.buf = buf.subarray(take);
      return this.buf.length > 0;
    }
    // chunkLeft === 0: the CRLF after the chunk data
    if (buf.length < 2) return false;
    if (buf[0] !== 0x0d || buf[1] !== 0x0a) throw new ResponseSyntaxError("missing CRLF after chunk data");
    this.buf = buf.subarray(2);
    this.chunkLeft = -1;
    return true;
  }

  private finish(trailers: HeaderPair[] | null): void {
    this.done = true;
    if (this.buf && this.buf.length) {
      this.reusable = false; // bytes beyond the response: do not trust the connection
      this.rest = this.buf;
    }
    this.buf = null;
    this.events.end(trailers);
  }
}
