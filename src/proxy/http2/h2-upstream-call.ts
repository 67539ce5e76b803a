/**
 * One exchange as a stream of a shared HTTP/2 server connection: the request sent with
 * pseudo-headers for its line (whatever version the client spoke), the response head,
 * then the body collected or streamed on with backpressure, trailers included. A stream
 * the server resets is a failure of that exchange only.
 */
import { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, constants } from "node:http2";
import type { Writable } from "node:stream";
import type { HeaderPair, HttpRequestData } from "../exchange.js";
import { flatHeaders, pairsOf, rawHeaderValue } from "../http/header-pairs.js";
import type { ResponseHead } from "../http/response-reader.js";
import { IncomingBody, type ResponseBody } from "../http/incoming-body.js";
import type { ServerCall } from "../http/upstream-call.js";
import { ProxyFailure } from "../proxy-failure.js";
import { h2Fields, h2HeaderObject, splitPseudo } from "./h2-headers.js";

const EMPTY = Buffer.alloc(0);

/** One request/response on an HTTP/2 connection. */
export class H2UpstreamCall implements ServerCall {
  private stream: ClientHttp2Stream | null = null;
  private readonly incoming = new IncomingBody();
  private trailers: HeaderPair[] | null = null;
  /** streams are never "reused": the connection stays shared */
  readonly reusable = false;

  constructor(
    private readonly session: ClientHttp2Session,
    private readonly where: string,
    private readonly timeoutMs: number,
  ) {}

  /** Sends `out` and resolves with the response head. */
  start(out: HttpRequestData): Promise<ResponseHead> {
    return new Promise((resolve, reject) => {
      const raw = out.wire ?? flatHeaders(out.headers);
      const authority = out.authority || rawHeaderValue(raw, "host") || this.where;
      const headers = h2HeaderObject(h2Fields(raw), { ":method": out.method, ":scheme": out.scheme, ":authority": authority, ":path": out.path });
      const withTrailers = (out.trailers?.length ?? 0) > 0;
      let stream: ClientHttp2Stream;
      try {
        stream = this.session.request(headers, { endStream: false, waitForTrailers: withTrailers });
      } catch (e) {
        return reject(ProxyFailure.fromUpstream(e, this.where));
      }
      this.stream = stream;
      this.incoming.onFail = reject;
      // Each of these events comes once per stream at most: plain listeners (no once wrappers) will do.
      stream.setTimeout(this.timeoutMs, () => this.fail(ProxyFailure.noAnswer(this.where, this.timeoutMs)));
      stream.on("response", (_h: IncomingHttpHeaders, _flags: number, rawHeaders: string[]) => {
        const { pseudo, fields } = splitPseudo(rawHeaders);
        resolve({ httpVersion: "HTTP/2.0", statusCode: Number(pseudo.get(":status")), reason: EMPTY, headers: pairsOf(fields), wire: fields });
      });
      stream.on("data", (c: Buffer) => this.incoming.push(c, stream));
      stream.on("trailers", (_h: IncomingHttpHeaders, _flags: number, rawTrailers: string[]) => (this.trailers = pairsOf(rawTrailers)));
      stream.on("end", () => {
        stream.setTimeout(0);
        this.incoming.end(this.trailers);
      });
      stream.on("error", (e: Error) => this.fail(ProxyFailure.fromUpstream(e, this.where)));
      stream.on("close", () => {
        if (!this.incoming.ended) this.fail(new ProxyFailure("E_UPSTREAM_RESET", `${this.where} reset the stream (HTTP/2 error ${stream.rstCode})`));
      });
      if (withTrailers)
        stream.once("wantTrailers", () => stream.sendTrailers(h2HeaderObject(h2Fields(flatHeaders(out.trailers!)), {})));
      stream.end(out.content?.length ? out.content : undefined);
    });
  }

  body(): Promise<ResponseBody> {
    return this.incoming.whole();
  }

  pipeTo(sink: Writable): Promise<void> {
    return this.incoming.pipeTo(sink);
  }

  abort(): void {
    this.fail(ProxyFailure.clientGone());
  }

  private fail(f: ProxyFailure): void {
    if (this.incoming.fail(f)) this.stream?.close(constants.NGHTTP2_CANCEL);
  }
}
