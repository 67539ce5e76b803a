/**
 * What the proxy asks of whoever gives it behaviour (the live capture): it reports
 * connections, exchanges, WebSocket messages and TCP chunks, and follows the answers.
 * The proxy itself only moves bytes.
 */
import type { ClientConnectionInfo, ServerConnectionInfo } from "./connection-info.js";
import type { HttpExchange, RequestVerdict, ResponseHeadersVerdict, ResponseVerdict } from "./exchange.js";
import type { ProxyFailure } from "./proxy-failure.js";

/** A complete (reassembled) WebSocket message. */
export interface WebSocketMessageData {
  /** 1 text, 2 binary (RFC 6455 §5.2) */
  opcode: number;
  fromClient: boolean;
  content: Buffer;
  timestamp: number;
}

/** How a WebSocket ended. */
export interface WebSocketClose {
  closedByClient: boolean | null;
  code: number | null;
  reason: string | null;
  timestampEnd: number;
}

let nextTcpId = 1;

/** A raw TCP relay between the client and a server (--tcp-hosts). */
export class TcpSession {
  readonly id = nextTcpId++;
  failure: ProxyFailure | null = null;
  /** the server connection, once made */
  server: ServerConnectionInfo | null = null;

  constructor(
    readonly client: ClientConnectionInfo,
    /** where the relay goes */
    readonly target: { host: string; port: number; tls: boolean },
  ) {}
}

/** The proxy's callbacks. Each exchange gets `exchangeDone` exactly once, last. */
export interface ProxyHandler {
  clientConnected(client: ClientConnectionInfo): Promise<void>;
  clientDisconnected(client: ClientConnectionInfo): Promise<void>;
  serverConnected(server: ServerConnectionInfo, client: ClientConnectionInfo): Promise<void>;
  serverDisconnected(server: ServerConnectionInfo, client: ClientConnectionInfo): Promise<void>;

  /** The request was read whole (`exchange.request`). */
  request(exchange: HttpExchange): Promise<RequestVerdict>;
  /** The response headers arrived (`exchange.response`, content still null). */
  responseHeaders(exchange: HttpExchange): Promise<ResponseHeadersVerdict>;
  /** The response was read whole (content null when streamed; then only "kill" is heeded). */
  response(exchange: HttpExchange): Promise<ResponseVerdict>;
  /**
   * The whole response but its last byte has gone out to the client: a recorder finishes the
   * flow now, and writes it (synchronously) at the latest in the `deliveriesDue` that follows
   * before the client gets that byte, so that no client ever has a whole response whose flow
   * a hard kill could still lose. `exchangeDone` follows as always.
   */
  responseDelivering?(exchange: HttpExchange): void;
  /** The responses announced by `responseDelivering` since the last call are about to be ended: write their flows now. */
  deliveriesDue?(): void;
  /** The exchange failed (`exchange.failure`). */
  error(exchange: HttpExchange): Promise<void>;
  /** The exchange is over (after its WebSocket closed, if it upgraded). */
  exchangeDone(exchange: HttpExchange): Promise<void>;

  /** True when WebSocket messages must be held until `websocketMessage` answers (scripts may change them). */
  interceptsWebSocketMessages(): boolean;
  /** A WebSocket message; returns the content to forward, or null to drop it (intercepting only). */
  websocketMessage(exchange: HttpExchange, message: WebSocketMessageData): Promise<Buffer | null>;
  /** The WebSocket ended; `exchangeDone` follows. */
  websocketEnd(exchange: HttpExchange, close: WebSocketClose): Promise<void>;

  /** A TCP relay started. */
  tcpStart(session: TcpSession): Promise<void>;
  /** True when TCP chunks must wait for `tcpMessage` to answer (scripts may change them). */
  interceptsTcpMessages(): boolean;
  /** A chunk read from one side; returns the bytes to forward, or null when the relay was killed. */
  tcpMessage(session: TcpSession, fromClient: boolean, data: Buffer): Promise<Buffer | null>;
  /** The relay ended (with `session.failure` when it failed). */
  tcpEnd(session: TcpSession): Promise<void>;
}
