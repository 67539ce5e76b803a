/**
 * One HTTP request/response exchange as the proxy sees it, and the answers the handler
 * gives at each step (forward, answer itself, kill; stream or buffer the response).
 */
import type { ClientConnectionInfo, ServerConnectionInfo } from "./connection-info.js";
import type { ProxyFailure } from "./proxy-failure.js";

/** A raw header field: name and value bytes, case and order as on the wire. */
export type HeaderPair = [name: Buffer, value: Buffer];

/** What requests and responses share. */
export interface HttpMessageData {
  /** e.g. HTTP/1.1 */
  httpVersion: string;
  headers: HeaderPair[];
  /** the body, de-chunked; null when not (completely) read, or when streamed */
  content: Buffer | null;
  trailers: HeaderPair[] | null;
  timestampStart: number;
  timestampEnd: number | null;
  /** `headers` as Node's flat latin1 list (name, value, …), when they are the ones received (saves converting them back) */
  wire?: readonly string[];
}

/** An HTTP request: what the client sent, or what is to be sent upstream. */
export interface HttpRequestData extends HttpMessageData {
  method: string;
  scheme: "http" | "https";
  host: string;
  port: number;
  /** authority-form / absolute-form target's authority, "" for origin-form */
  authority: string;
  /** path and query, as on the request line */
  path: string;
}

/** An HTTP response: what the server sent, or what is to be sent to the client. */
export interface HttpResponseData extends HttpMessageData {
  statusCode: number;
  reason: Buffer;
}

/** What to do with a request that was read whole. */
export type RequestVerdict =
  | { kind: "forward"; request: HttpRequestData }
  | { kind: "respond"; response: HttpResponseData }
  | { kind: "kill" };

/** What to do once the response headers arrived. */
export type ResponseHeadersVerdict = { kind: "continue"; stream: boolean } | { kind: "kill" };

/** What to send the client once the response was read whole. */
export type ResponseVerdict = { kind: "send"; response: HttpResponseData } | { kind: "kill" };

let nextExchangeId = 1;

/** The state of one exchange; the handler may keep its own data keyed by it. */
export class HttpExchange {
  /** process-unique, for logs */
  readonly id = nextExchangeId++;
  /** the server connection used, once one was assigned */
  server: ServerConnectionInfo | null = null;
  response: HttpResponseData | null = null;
  failure: ProxyFailure | null = null;
  /** true once the exchange is finished and reported (exactly once) */
  done = false;
  /** true when the exchange upgraded to a WebSocket */
  websocket = false;

  constructor(
    readonly client: ClientConnectionInfo,
    /** the request as the client sent it */
    readonly request: HttpRequestData,
  ) {}
}
