/**
 * An HTTP response (mitmproxy's `http.Response`) over its dict in the flow state.
 */
import { RESPONSE, inKeyOrder } from "../format/migrations/key-orders.js";
import type { TDict, TValue } from "../format/tnetstring.js";
import { CookieAttrs, formatSetCookieHeader, parseSetCookieHeaders } from "./cookies.js";
import { Headers, type HeadersInit } from "./headers.js";
import { Message } from "./message.js";
import { type MultiDictField, MultiDictView } from "./multidict.js";
import { reasonPhrase } from "./status-codes.js";
import { bytesOf, nowFloat, toIntValue, toNumber } from "./values.js";

/** A response cookie's value (null when the cookie had no `=`) and attributes. */
export type ResponseCookie = [value: string | null, attrs: CookieAttrs];

/** What the cookies setter accepts: name -> [value, attributes as pairs or CookieAttrs]. */
export type ResponseCookiesInit = Iterable<
  readonly [string, readonly [string | null, CookieAttrs | Iterable<readonly [string, string | null]>]]
>;

/** An HTTP response. */
export class Response extends Message {
  /**
   * Live capture only: set to true in `responseheaders` to pass the body to the client as
   * it arrives, unrecorded (content stays null). Not saved with the flow.
   */
  stream = false;

  /** Wraps a response dict of a flow state (live). */
  constructor(state: TDict) {
    super(state);
  }

  protected get where(): string {
    return "response";
  }

  /**
   * A new response (a v21-shaped dict of its own): HTTP/1.1, the standard reason phrase,
   * now as timestamps, and the body set through `content` (bytes) or `text` (a string) so
   * that Content-Length is filled in. As mitmproxy's `Response.make`.
   */
  static make(statusCode = 200, content: string | Uint8Array = Buffer.alloc(0), headers: HeadersInit = []): Response {
    const now = nowFloat();
    const state = inKeyOrder(RESPONSE, {
      http_version: Buffer.from("HTTP/1.1"),
      headers: new Headers(headers).fields as TValue[],
      content: null,
      trailers: null,
      timestamp_start: now,
      timestamp_end: now,
      status_code: toIntValue(statusCode),
      reason: Buffer.from(reasonPhrase(statusCode), "latin1"),
    });
    const resp = new Response(state);
    if (typeof content === "string") resp.text = content;
    else resp.content = content;
    return resp;
  }

  /** The status code, e.g. 200. */
  get statusCode(): number {
    return toNumber(this.state.get("status_code")) ?? 0;
  }

  set statusCode(code: number) {
    this.state.set("status_code", toIntValue(code));
  }

  /** The reason phrase, e.g. `Not Found` ("" in HTTP/2 and 3); ISO-8859-1 on the wire. */
  get reason(): string {
    return bytesOf(this.state.get("reason")).toString("latin1");
  }

  set reason(v: string | Uint8Array) {
    if (typeof v !== "string") {
      this.state.set("reason", Buffer.from(v));
      return;
    }
    for (let i = 0; i < v.length; i++)
      if (v.charCodeAt(i) > 0xff) throw new TypeError(`reason phrase must be ISO-8859-1 text: ${JSON.stringify(v)}`);
    this.state.set("reason", Buffer.from(v, "latin1"));
  }

  /**
   * The Set-Cookie cookies as a multi-dict of name -> [value, attributes]. Edits rewrite
   * the Set-Cookie headers; changing an attrs object alone is not seen until the
   * [value, attrs] pair is assigned again (as in mitmproxy).
   */
  get cookies(): MultiDictView<ResponseCookie> {
    return new MultiDictView<ResponseCookie>(
      () =>
        parseSetCookieHeaders(this.headers.getAll("set-cookie")).map(([name, value, attrs]) => [name, [value, attrs]]),
      (fields) => this.setCookies(fields),
    );
  }

  set cookies(v: ResponseCookiesInit) {
    this.setCookies(v);
  }

  private setCookies(fields: ResponseCookiesInit | MultiDictField<ResponseCookie>[]): void {
    const lines = [...fields].map(([name, [value, attrs]]) =>
      formatSetCookieHeader([[name, value, attrs instanceof CookieAttrs ? attrs.fields : [...attrs]]]),
    );
    this.headers.setAll("set-cookie", lines);
  }
}
