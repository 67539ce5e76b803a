/**
 * An HTTP request (mitmproxy's `http.Request`) over its dict in the flow state: the request
 * line parts, the host/port/Host-header coupling, URLs, and the query, cookie and form views.
 */
import { REQUEST, inKeyOrder } from "../format/migrations/key-orders.js";
import type { TDict, TValue } from "../format/tnetstring.js";
import { formatCookieHeader, parseCookieHeaders } from "./cookies.js";
import { Headers, type HeadersInit } from "./headers.js";
import { idnaDecode, idnaEncode } from "./host.js";
import { Message } from "./message.js";
import { type MultiDictField, MultiDictView } from "./multidict.js";
import { decodeUtf8Escaped, encodeUtf8Escaped } from "./surrogate-escape.js";
import {
  defaultPort,
  encodeQuery,
  hostport,
  joinPath,
  parseAuthority,
  parseQuery,
  parseUrl,
  quote,
  splitPath,
  unparseUrl,
  unquote,
} from "./url.js";
import { bytesOf, nowFloat, strOf, textOf, toIntValue, toNumber } from "./values.js";

/** Pairs for the query, cookie and form setters. */
export type PairsInit = Iterable<readonly [string, string]> | Readonly<Record<string, string>>;

function pairsOf(init: PairsInit): MultiDictField<string>[] {
  const it = (init as Iterable<readonly [string, string]>)[Symbol.iterator];
  const list = typeof it === "function" ? [...(init as Iterable<readonly [string, string]>)] : Object.entries(init);
  return list.map(([k, v]) => [String(k), String(v)]);
}

/** An HTTP request. */
export class Request extends Message {
  /** Wraps a request dict of a flow state (live). */
  constructor(state: TDict) {
    super(state);
  }

  protected get where(): string {
    return "request";
  }

  /**
   * A new request (a v21-shaped dict of its own): HTTP/1.1, now as timestamps, the URL
   * set through `url` and the body through `content` (bytes) or `text` (a string), so
   * Content-Length is filled in. As mitmproxy's `Request.make`.
   */
  static make(method: string, url: string, content: string | Uint8Array = "", headers: HeadersInit = []): Request {
    const now = nowFloat();
    const state = inKeyOrder(REQUEST, {
      http_version: Buffer.from("HTTP/1.1"),
      headers: new Headers(headers).fields as TValue[],
      content: Buffer.alloc(0),
      trailers: null,
      timestamp_start: now,
      timestamp_end: now,
      host: "",
      port: 0,
      method: encodeUtf8Escaped(method),
      scheme: Buffer.alloc(0),
      authority: Buffer.alloc(0),
      path: Buffer.alloc(0),
    });
    const req = new Request(state);
    req.url = url;
    if (typeof content === "string") req.text = content;
    else req.content = content;
    return req;
  }

  /** The request-target form: `authority` (CONNECT), `absolute` (an authority is stored) or `relative`. */
  get firstLineFormat(): "authority" | "absolute" | "relative" {
    if (this.method === "CONNECT") return "authority";
    return bytesOf(this.state.get("authority")).length ? "absolute" : "relative";
  }

  /** The method, upper-cased, e.g. `GET`. */
  get method(): string {
    return textOf(this.state.get("method")).toUpperCase();
  }

  set method(v: string | Uint8Array) {
    this.state.set("method", typeof v === "string" ? encodeUtf8Escaped(v) : Buffer.from(v));
  }

  /** The scheme, `http` or `https`. */
  get scheme(): string {
    return textOf(this.state.get("scheme"));
  }

  set scheme(v: string | Uint8Array) {
    this.state.set("scheme", typeof v === "string" ? encodeUtf8Escaped(v) : Buffer.from(v));
  }

  /**
   * The authority: HTTP/2 and 3 `:authority`, or the HTTP/1 authority-form or absolute-form
   * target; "" for origin-form requests. IDNA labels are shown decoded.
   */
  get authority(): string {
    const raw = bytesOf(this.state.get("authority"));
    const text = decodeUtf8Escaped(raw);
    try {
      return /^[\x00-\x7f]*$/.test(text) ? idnaDecode(text) : text;
    } catch {
      return text;
    }
  }

  set authority(v: string | Uint8Array) {
    if (typeof v !== "string") {
      this.state.set("authority", Buffer.from(v));
      return;
    }
    let ascii: string | undefined;
    try {
      ascii = idnaEncode(v);
    } catch {
      ascii = undefined;
    }
    this.state.set("authority", ascii !== undefined ? Buffer.from(ascii, "latin1") : encodeUtf8Escaped(v));
  }

  /**
   * The target host (Unicode for IDNA names). Setting it also rewrites the Host header
   * and, when there is one, the authority (newest mitmproxy).
   */
  get host(): string {
    const h = this.state.get("host");
    return Buffer.isBuffer(h) ? idnaDecode(h.toString("latin1")) : strOf(h);
  }

  set host(v: string | Uint8Array) {
    this.state.set("host", typeof v === "string" ? v : idnaDecode(Buffer.from(v).toString("latin1")));
    this.updateHostAndAuthority();
  }

  /** The target port. Setting it also rewrites the Host header and authority (mitmproxy ≥ 10). */
  get port(): number {
    return toNumber(this.state.get("port")) ?? 0;
  }

  set port(p: number) {
    if (!Number.isInteger(p)) throw new TypeError(`port must be an integer, not ${String(p)}`);
    this.state.set("port", toIntValue(p));
    this.updateHostAndAuthority();
  }

  private updateHostAndAuthority(): void {
    const value = hostport(this.scheme, this.host, this.port);
    const headers = this.headers;
    if (headers.has("Host")) headers.set("Host", value);
    if (bytesOf(this.state.get("authority")).length) this.authority = value;
  }

  /** The Host header (HTTP/1) or authority (HTTP/2 and 3, falling back to Host), or null. */
  get hostHeader(): string | null {
    if (this.isHttp2 || this.isHttp3) return this.authority || (this.headers.get("Host") ?? null);
    return this.headers.get("Host") ?? null;
  }

  set hostHeader(v: string | null) {
    const h2 = this.isHttp2 || this.isHttp3;
    if (v === null) {
      if (h2) this.state.set("authority", Buffer.alloc(0));
      this.headers.delete("Host");
      return;
    }
    if (h2) this.authority = v;
    // HTTP/2's :authority is its Host header: overwrite a Host header there, never add one.
    if (!h2 || this.headers.has("Host")) this.headers.set("Host", v);
  }

  /** Path and query (and fragment, if any), e.g. `/index.html?a=b`; `*` for `OPTIONS *`. */
  get path(): string {
    return textOf(this.state.get("path"));
  }

  set path(v: string | Uint8Array) {
    this.state.set("path", typeof v === "string" ? encodeUtf8Escaped(v) : Buffer.from(v));
  }

  /**
   * The full URL, `scheme://host[:port]path` (`host:port` for CONNECT). Setting it sets
   * scheme, host, port and path (and with them the Host header and authority).
   */
  get url(): string {
    if (this.firstLineFormat === "authority") return `${this.host}:${this.port}`;
    const path = this.path;
    return unparseUrl(this.scheme, this.host, this.port, path === "*" ? "" : path);
  }

  set url(v: string) {
    const parts = parseUrl(v);
    this.scheme = parts.scheme;
    this.host = parts.host;
    this.port = parts.port;
    this.path = parts.path;
  }

  /** Like `host`, but preferring the Host header or authority (useful in transparent mode). */
  get prettyHost(): string {
    const authority = this.hostHeader;
    return authority ? parseAuthority(authority, false)[0] : this.host;
  }

  /** Like `url`, but with `prettyHost` and the Host header's port. */
  get prettyUrl(): string {
    if (this.firstLineFormat === "authority") return this.authority;
    const hostHeader = this.hostHeader;
    if (!hostHeader) return this.url;
    const [host, port] = parseAuthority(hostHeader, false);
    const path = this.path;
    return unparseUrl(this.scheme, host, port || defaultPort(this.scheme) || 443, path === "*" ? "" : path);
  }

  /** The query string as a multi-dict; edits rewrite `path` (its fragment is kept). */
  get query(): MultiDictView<string> {
    return new MultiDictView(
      () => parseQuery(splitPath(this.path).query ?? ""),
      (fields) => this.setQuery(fields),
    );
  }

  set query(v: PairsInit) {
    this.setQuery(pairsOf(v));
  }

  private setQuery(fields: Iterable<readonly [string, string]>): void {
    const parts = splitPath(this.path);
    this.path = joinPath(parts.path, encodeQuery(fields), parts.fragment);
  }

  /** The Cookie header(s) as a multi-dict; edits rewrite them as one Cookie header. */
  get cookies(): MultiDictView<string> {
    return new MultiDictView(
      () => parseCookieHeaders(this.headers.getAll("Cookie")),
      (fields) => this.setCookies(fields),
    );
  }

  set cookies(v: PairsInit) {
    this.setCookies(pairsOf(v));
  }

  private setCookies(fields: Iterable<readonly [string, string]>): void {
    this.headers.set("cookie", formatCookieHeader(fields));
  }

  /** The path's segments, percent-decoded (query and fragment left out). Setting them keeps the query. */
  get pathComponents(): string[] {
    return splitPath(this.path)
      .path.split("/")
      .filter((s) => s)
      .map(unquote);
  }

  set pathComponents(components: Iterable<string>) {
    const parts = splitPath(this.path);
    const path = "/" + [...components].map((c) => quote(c, "")).join("/");
    this.path = joinPath(path, parts.query, parts.fragment);
  }

  /**
   * The body as an `application/x-www-form-urlencoded` form (empty for other content
   * types). Edits rewrite the body, set that Content-Type and fix Content-Length.
   */
  get urlencodedForm(): MultiDictView<string> {
    return new MultiDictView(
      () => this.readForm(),
      (fields) => this.writeForm(fields),
    );
  }

  set urlencodedForm(v: PairsInit) {
    this.writeForm(pairsOf(v));
  }

  private readForm(): MultiDictField<string>[] {
    if (!(this.headers.get("content-type") ?? "").toLowerCase().includes("application/x-www-form-urlencoded"))
      return [];
    return parseQuery(this.getText(false) ?? "");
  }

  private writeForm(fields: Iterable<readonly [string, string]>): void {
    this.headers.set("content-type", "application/x-www-form-urlencoded");
    this.content = Buffer.from(encodeQuery(fields, this.getText(false)), "utf8");
  }

  /** Removes headers that could make the server answer 304 from its cache. */
  anticache(): void {
    this.headers.delete("if-modified-since");
    this.headers.delete("if-none-match");
  }

  /** Asks the server for an uncompressed response (`Accept-Encoding: identity`). */
  anticomp(): void {
    this.headers.set("accept-encoding", "identity");
  }

  /** Limits Accept-Encoding to the codings reflow can decode. */
  constrainEncoding(): void {
    const accept = this.headers.get("accept-encoding");
    if (accept)
      this.headers.set(
        "accept-encoding",
        ["gzip", "identity", "deflate", "br", "zstd"].filter((e) => accept.includes(e)).join(", "),
      );
  }
}
