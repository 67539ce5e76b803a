/**
 * Live traffic (the proxy's exchanges) as version-21 flow state (mitm-format.md §2): dicts in mitmproxy's key
 * insertion order, every value of the kind the schema wants (bytes as Buffer, str as
 * string, int as integral number, float via toFloatValue), and back again: the request
 * or response a script left in the state, as the proxy sends it.
 */
import { randomUUID } from "node:crypto";
import { RawElement, type TDict, type TValue, encode } from "../format/tnetstring.js";
import {
  CLIENT_V21,
  REQUEST,
  RESPONSE,
  SERVER_V21,
  TOP_V21,
  WEBSOCKET,
  inKeyOrder,
} from "../format/migrations/key-orders.js";
import { bytesOf, strOf, toFloatValue, toNumber } from "../model/values.js";
import type { ClientConnectionInfo, ServerConnectionInfo, TlsInfo } from "../proxy/connection-info.js";
import type { HeaderPair, HttpMessageData, HttpRequestData, HttpResponseData } from "../proxy/exchange.js";
import type { WebSocketClose, WebSocketMessageData } from "../proxy/proxy-handler.js";

const floatOrNull = (t: number | null): TValue => (t === null ? null : toFloatValue(t));
const headersValue = (h: readonly HeaderPair[]): TValue[] => h.map(([n, v]) => [n, v]);

/** The TLS entries both connection dicts have. */
function tlsFields(tls: boolean, info: TlsInfo | null) {
  return {
    tls,
    certificate_list: info ? [...info.certificateList] : [],
    alpn: info?.alpn ?? null,
    alpn_offers: info ? [...info.alpnOffers] : [],
    cipher: info?.cipher ?? null,
    cipher_list: info ? [...info.cipherList] : [],
    tls_version: info?.tlsVersion ?? null,
    sni: info?.sni ?? null,
  };
}

/** `client_conn` (v21). */
export function clientConnState(c: ClientConnectionInfo): TDict {
  return inKeyOrder(CLIENT_V21, Object.assign(tlsFields(c.tls !== null, c.tls), {
    peername: [c.peername[0], c.peername[1]],
    sockname: [c.sockname[0], c.sockname[1]],
    id: c.id,
    transport_protocol: "tcp",
    error: c.error,
    timestamp_start: toFloatValue(c.timestampStart),
    timestamp_end: floatOrNull(c.timestampEnd),
    timestamp_tls_setup: floatOrNull(c.tls?.timestampTlsSetup ?? null),
    mitmcert: c.mitmcert,
    proxy_mode: c.proxyMode,
  }));
}

/** `server_conn` (v21); without a connection, one that never connected to `address`. */
export function serverConnState(s: ServerConnectionInfo | null, address: [string, number] | null, error: string | null = null): TDict {
  const addr = s?.address ?? address;
  return inKeyOrder(SERVER_V21, Object.assign(tlsFields(s?.tls ?? false, s?.tlsInfo ?? null), {
    peername: s?.peername ? [s.peername[0], s.peername[1]] : null,
    sockname: s?.sockname ? [s.sockname[0], s.sockname[1]] : null,
    id: s?.id ?? randomUUID(),
    transport_protocol: "tcp",
    error: s?.error ?? error,
    timestamp_start: floatOrNull(s?.timestampStart ?? null),
    timestamp_end: floatOrNull(s?.timestampEnd ?? null),
    timestamp_tls_setup: floatOrNull(s?.tlsInfo?.timestampTlsSetup ?? null),
    address: addr ? [addr[0], addr[1]] : null,
    timestamp_tcp_setup: floatOrNull(s?.timestampTcpSetup ?? null),
    via: s?.via ? [s.via[0], [s.via[1][0], s.via[1][1]]] : null,
  }));
}

/** An encoded connection dict and the record it was made from (a shallow copy, to tell changes). */
interface EncodedConnection<T> {
  fields: T;
  element: RawElement;
}

function unchanged<T extends object>(before: T, now: T): boolean {
  for (const k in before) if (before[k] !== now[k]) return false;
  return true;
}

/**
 * `client_conn` and `server_conn` as encoded elements, per connection: every flow of a
 * kept-alive connection records the same dicts, so they are built and encoded once, and
 * again only when the connection's record changed (TLS set up, closed, failed). The
 * elements are immutable; whoever reads one through the model gets a dict of their own.
 */
export class ConnectionStates {
  private readonly clients = new WeakMap<ClientConnectionInfo, EncodedConnection<ClientConnectionInfo>>();
  private readonly servers = new WeakMap<ServerConnectionInfo, EncodedConnection<ServerConnectionInfo>>();

  client(c: ClientConnectionInfo): RawElement {
    let known = this.clients.get(c);
    if (!known || !unchanged(known.fields, c)) {
      known = { fields: { ...c }, element: RawElement.of(encode(clientConnState(c))) };
      this.clients.set(c, known);
    }
    return known.element;
  }

  /** `server_conn` of `s`; one without an address of its own (to an upstream proxy) takes the flow's. */
  server(s: ServerConnectionInfo, address: [string, number]): TValue {
    if (s.address === null) return serverConnState(s, address);
    let known = this.servers.get(s);
    if (!known || !unchanged(known.fields, s)) {
      known = { fields: { ...s }, element: RawElement.of(encode(serverConnState(s, null))) };
      this.servers.set(s, known);
    }
    return known.element;
  }
}

/** The entries requests and responses share. */
function messageFields(r: HttpMessageData) {
  return {
    http_version: Buffer.from(r.httpVersion, "latin1"),
    headers: headersValue(r.headers),
    content: r.content,
    trailers: r.trailers ? headersValue(r.trailers) : null,
    timestamp_start: toFloatValue(r.timestampStart),
    timestamp_end: floatOrNull(r.timestampEnd),
  };
}

/** `request` (the same in every int version). */
export function requestState(r: HttpRequestData): TDict {
  // Object.assign, not a spread: a spread costs microseconds per exchange in V8
  return inKeyOrder(REQUEST, Object.assign(messageFields(r), {
    host: r.host,
    port: r.port,
    method: Buffer.from(r.method, "latin1"),
    scheme: Buffer.from(r.scheme, "latin1"),
    authority: Buffer.from(r.authority, "latin1"),
    path: Buffer.from(r.path, "latin1"),
  }));
}

/** `response`. */
export function responseState(r: HttpResponseData): TDict {
  return inKeyOrder(RESPONSE, Object.assign(messageFields(r), { status_code: r.statusCode, reason: r.reason }));
}


/** An empty `websocket` dict, to which messages are added as they pass. */
export function websocketState(): TDict {
  return inKeyOrder(WEBSOCKET, {
    messages: [],
    closed_by_client: null,
    close_code: null,
    close_reason: null,
    timestamp_end: null,
  });
}

/** One `websocket.messages` entry: `[type, from_client, content, timestamp, dropped, injected]`. */
export function websocketMessageEntry(m: WebSocketMessageData): TValue[] {
  return [m.opcode, m.fromClient, m.content, toFloatValue(m.timestamp), false, false];
}

/** Records how the WebSocket ended. */
export function closeWebsocket(ws: TDict, close: WebSocketClose): void {
  ws.set("closed_by_client", close.closedByClient);
  ws.set("close_code", close.code);
  ws.set("close_reason", close.reason);
  ws.set("timestamp_end", toFloatValue(close.timestampEnd));
}

/**
 * A new flow dict (v21) with its common entries; the type-specific ones follow. The
 * connections may be left null for now and set later (their place in the order is kept).
 */
export function flowState(type: "http" | "tcp", client: TDict | null, server: TDict | null, created: number): TDict {
  return inKeyOrder(TOP_V21, {
    version: 21,
    type,
    id: randomUUID(),
    error: null,
    client_conn: client,
    server_conn: server,
    intercepted: false,
    is_replay: null,
    marked: "",
    metadata: new Map(),
    comment: "",
    timestamp_created: toFloatValue(created),
    backup: null,
  });
}

function headerPairsOf(v: TValue | undefined): HeaderPair[] {
  if (!Array.isArray(v)) return [];
  return v.map((f) => {
    const [n, val] = f as TValue[];
    return [bytesOf(n), bytesOf(val)];
  });
}

function contentOf(v: TValue | undefined): Buffer | null {
  return v === null || v === undefined ? null : bytesOf(v);
}

/** The request in the state, as it is to be sent. */
export function requestFromState(m: TDict): HttpRequestData {
  const scheme = bytesOf(m.get("scheme")).toString("latin1").toLowerCase();
  const hostValue = m.get("host");
  return {
    method: bytesOf(m.get("method")).toString("latin1"),
    scheme: scheme === "https" ? "https" : "http",
    host: Buffer.isBuffer(hostValue) ? hostValue.toString("latin1") : strOf(hostValue),
    port: toNumber(m.get("port")) ?? 0,
    authority: bytesOf(m.get("authority")).toString("latin1"),
    path: bytesOf(m.get("path")).toString("latin1") || "/",
    httpVersion: bytesOf(m.get("http_version")).toString("latin1"),
    headers: headerPairsOf(m.get("headers")),
    content: contentOf(m.get("content")),
    trailers: m.get("trailers") ? headerPairsOf(m.get("trailers")) : null,
    timestampStart: toNumber(m.get("timestamp_start")) ?? 0,
    timestampEnd: toNumber(m.get("timestamp_end")),
  };
}

/** The response in the state, as it is to be sent. */
export function responseFromState(m: TDict): HttpResponseData {
  return {
    httpVersion: bytesOf(m.get("http_version")).toString("latin1"),
    statusCode: toNumber(m.get("status_code")) ?? 502,
    reason: bytesOf(m.get("reason")),
    headers: headerPairsOf(m.get("headers")),
    content: contentOf(m.get("content")),
    trailers: m.get("trailers") ? headerPairsOf(m.get("trailers")) : null,
    timestampStart: toNumber(m.get("timestamp_start")) ?? 0,
    timestampEnd: toNumber(m.get("timestamp_end")),
  };
}
