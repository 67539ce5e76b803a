/**
 * What requests and responses share (mitmproxy's `http.Message`): version, headers, body
 * (stored still content-encoded, read decoded), text, trailers and timestamps. Every
 * property reads from and writes to the message's dict in the flow state; nothing is cached.
 */
import { FlowStateError } from "../errors.js";
import type { TDict, TValue } from "../format/tnetstring.js";
import { CharsetError, decodeText, encodeText, inferCharset } from "./charset.js";
import { formatContentType, parseContentType } from "./content-type.js";
import { ContentEncodingError, ContentTooLargeError, decodeContent, encodeContent } from "./encoding.js";
import { Headers, type HeadersInit } from "./headers.js";
import { decodeUtf8Escaped, encodeUtf8Escaped } from "./surrogate-escape.js";
import { entryOf, listEntry, textOf, toFloatValue, toNumber } from "./values.js";
import { asBuffer } from "./bytes.js";

/** A request or response body as accepted by setters. */
export type Body = Uint8Array | null;

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** Base class of Request and Response. */
export abstract class Message {
  /** @param state the message's dict in the flow state (live: edits go into it) */
  protected constructor(readonly state: TDict) {}

  /** Which kind of message this is, for error texts. */
  protected abstract get where(): string;

  /** HTTP version, e.g. `HTTP/1.1`, `HTTP/2.0`, `HTTP/3`. */
  get httpVersion(): string {
    return textOf(this.state.get("http_version"));
  }

  set httpVersion(v: string | Uint8Array) {
    this.state.set("http_version", typeof v === "string" ? encodeUtf8Escaped(v) : Buffer.from(v));
  }

  /** True for HTTP/1.0. */
  get isHttp10(): boolean {
    return this.httpVersion === "HTTP/1.0";
  }

  /** True for HTTP/1.1. */
  get isHttp11(): boolean {
    return this.httpVersion === "HTTP/1.1";
  }

  /** True for HTTP/2. */
  get isHttp2(): boolean {
    return this.httpVersion === "HTTP/2.0";
  }

  /** True for HTTP/3. */
  get isHttp3(): boolean {
    return this.httpVersion === "HTTP/3";
  }

  /** The headers, a live view over the stored fields. */
  get headers(): Headers {
    return Headers.overEntry(this.state, "headers", this.where);
  }

  /** Replaces all headers (the given ones are copied). */
  set headers(h: Headers | HeadersInit) {
    this.state.set("headers", new Headers(h).fields as TValue[]);
  }

  /** The trailers (HTTP/2 and chunked HTTP/1), or null when there are none. */
  get trailers(): Headers | null {
    const t = entryOf(this.state, "trailers");
    return Array.isArray(t) ? Headers.over(t) : null;
  }

  set trailers(h: Headers | HeadersInit | null) {
    this.state.set("trailers", h === null ? null : (new Headers(h).fields as TValue[]));
  }

  /** The body as stored: still content-encoded (gzip, br, …); null when it was not captured. Damage (not bytes) is a FlowStateError. */
  get rawContent(): Buffer | null {
    const c = this.state.get("content");
    if (c === null || c === undefined) return null;
    if (Buffer.isBuffer(c)) return c;
    throw new FlowStateError("E_FLOW_SCHEMA", `${this.where}: content must be bytes in the flow state`);
  }

  set rawContent(v: Body) {
    if (v === null) this.state.set("content", null);
    else if (v instanceof Uint8Array)
      this.state.set("content", asBuffer(v));
    else throw new TypeError(`${this.where}: raw content must be bytes or null, not ${typeof v}`);
  }

  /**
   * The body decoded according to Content-Encoding. Throws ContentEncodingError when it
   * cannot be decoded (use `getContent(false)` for the raw bytes instead). Setting it
   * encodes with the current Content-Encoding and updates Content-Length.
   */
  get content(): Buffer | null {
    return this.getContent(true);
  }

  set content(v: Body) {
    this.setContent(v);
  }

  /**
   * The decoded body; when it cannot be decoded, throws (strict) or returns the raw bytes.
   * `forDisplay`: the caller only shows it (see decodeContent's `remember`). `limit`: a body
   * that decodes to more bytes throws ContentTooLargeError, whether strict or not.
   */
  getContent(strict = true, forDisplay = false, limit = Infinity): Buffer | null {
    const raw = this.rawContent;
    if (raw === null) return null;
    const ce = this.headers.get("content-encoding");
    if (!ce) return raw;
    try {
      return decodeContent(raw, ce, !forDisplay, limit);
    } catch (e) {
      if (strict || !(e instanceof ContentEncodingError) || e instanceof ContentTooLargeError) throw e;
      return raw;
    }
  }

  /**
   * Stores a body: encoded with the current Content-Encoding (an unknown one is dropped
   * from the headers and the bytes are stored as they are), and Content-Length set to the
   * stored size unless Transfer-Encoding is present (RFC 9112 §6.2).
   */
  setContent(value: Body): void {
    if (value === null) {
      this.rawContent = null;
      return;
    }
    if (!(value instanceof Uint8Array))
      throw new TypeError(`${this.where}: content must be bytes, not ${typeof value}; use .text to assign a string`);
    const headers = this.headers;
    const ce = headers.get("content-encoding");
    let raw: Buffer;
    try {
      raw = encodeContent(value, ce || "identity");
    } catch (e) {
      if (!(e instanceof ContentEncodingError)) throw e;
      headers.delete("content-encoding");
      raw = asBuffer(value);
    }
    this.rawContent = raw;
    if (!headers.has("transfer-encoding")) headers.set("content-length", String(raw.length));
  }

  /**
   * The decoded body as text, in the charset mitmproxy would pick (mitm-format.md §5).
   * Throws on an undecodable body or charset; setting it encodes in that charset.
   */
  get text(): string | null {
    return this.getText(true);
  }

  set text(v: string | null) {
    this.setText(v);
  }

  /** The body as text; when it cannot be decoded, throws (strict) or returns it as UTF-8 with escaped bytes. */
  getText(strict = true): string | null {
    const content = this.getContent(strict);
    if (content === null) return null;
    const charset = inferCharset(this.headers.get("content-type") ?? "", content);
    try {
      return decodeText(content, charset);
    } catch (e) {
      if (strict || !(e instanceof CharsetError)) throw e;
      return decodeUtf8Escaped(content);
    }
  }

  /**
   * Stores text in the charset the Content-Type implies. When it does not fit that charset,
   * it is stored as UTF-8 and the Content-Type gets `charset=utf-8`, as mitmproxy does.
   */
  setText(text: string | null): void {
    if (text === null) {
      this.setContent(null);
      return;
    }
    const headers = this.headers;
    const charset = inferCharset(headers.get("content-type") ?? "");
    let bytes: Buffer;
    try {
      bytes = encodeText(text, charset);
    } catch (e) {
      if (!(e instanceof CharsetError)) throw e;
      const ct = parseContentType(headers.get("content-type") ?? "") ?? {
        type: "text",
        subtype: "plain",
        params: new Map(),
      };
      ct.params.set("charset", "utf-8");
      headers.set("content-type", formatContentType(ct));
      bytes = encodeUtf8Escaped(text);
    }
    this.setContent(bytes);
  }

  /** The body parsed as JSON (decoded leniently, as mitmproxy); throws on invalid JSON or a missing body. */
  json<T = any>(): T {
    const content = this.getContent(false);
    if (content === null) throw new TypeError("Message content is not available.");
    return JSON.parse(utf8Strict.decode(content)) as T;
  }

  /** When the headers were received (Unix seconds). */
  get timestampStart(): number {
    return toNumber(this.state.get("timestamp_start")) ?? 0;
  }

  set timestampStart(t: number) {
    this.state.set("timestamp_start", toFloatValue(t));
  }

  /** When the last byte was received (Unix seconds), or null. */
  get timestampEnd(): number | null {
    return toNumber(this.state.get("timestamp_end"));
  }

  set timestampEnd(t: number | null) {
    this.state.set("timestamp_end", t === null ? null : toFloatValue(t));
  }

  /**
   * Decodes the body for good: stores it decoded and removes Content-Encoding (and fixes
   * Content-Length). Nothing happens to a missing or empty body (newest mitmproxy).
   */
  decode(strict = true): void {
    const raw = this.rawContent;
    if (!raw || !raw.length) return;
    const decoded = this.getContent(strict);
    this.headers.delete("content-encoding");
    this.setContent(decoded);
  }

  /**
   * Encodes the stored body with `encoding` (gzip, deflate, br, zstd, identity) and sets
   * Content-Encoding; the body is not decoded first. Throws ContentEncodingError for an
   * unknown encoding.
   */
  encode(encoding: string): void {
    const headers = this.headers;
    headers.set("content-encoding", encoding);
    this.setContent(this.rawContent);
    if (!headers.has("content-encoding"))
      throw new ContentEncodingError(encoding, `invalid content encoding ${JSON.stringify(encoding)}`);
  }
}
