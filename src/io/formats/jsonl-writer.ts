/**
 * The JSON Lines form of flows (spec §2 "jsonl", documented for jq users in docs/jsonl.md):
 * one JSON object per flow, bodies decoded from their Content-Encoding and given as UTF-8
 * text when they are valid UTF-8, else as base64, with a field saying which. A view of the model, not a bytes codec: read back by jsonl-reader.ts.
 */
import { isUtf8 } from "node:buffer";
import { dnsTypeName, recordDataText } from "../../model/dns-text.js";
import { pythonStr } from "../../format/python-str.js";
import { PyFloat, RawElement, type TValue, resolve } from "../../format/tnetstring.js";
import type {
  Address,
  Client,
  DNSFlow,
  DNSMessage,
  Flow,
  HTTPFlow,
  Headers,
  Message,
  Server,
  TCPFlow,
  UDPFlow,
} from "../../model/index.js";
import { asBuffer } from "../../model/bytes.js";

/** How a bytes field is written: as the text itself, or as base64. */
export type ContentEncoding = "utf8" | "base64";

/** JSON values. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A client or server connection. */
export interface ConnectionJson {
  /** client: its address; server: where the proxy connected (`host:port`, IPv6 in brackets) */
  address: string | null;
  /** server only: the address actually connected to, if it differs from a name */
  peer?: string | null;
  tls: boolean;
  tls_version: string | null;
  sni: string | null;
  alpn: string | null;
  timestamp_start: number | null;
  timestamp_end: number | null;
  /** what the rest of the connection record holds, so that reading the line back loses nothing a diff compares */
  id: string;
  sockname: string | null;
  transport_protocol: string;
  error: string | null;
  cipher: string | null;
  cipher_list: string[];
  /** latin-1 text */
  alpn_offers: string[];
  /** DER certificates, base64 */
  certificate_list: string[];
  timestamp_tls_setup: number | null;
  /** server only */
  timestamp_tcp_setup?: number | null;
  /** client only */
  proxy_mode?: string;
}

/** What requests and responses share. */
export interface HttpMessageJson {
  http_version: string;
  /** every field in order, repeats kept, names in their original case */
  headers: [string, string][];
  /** the body decoded from its Content-Encoding (or as stored when that fails); null when not recorded */
  body: string | null;
  /** how `body` is written; null when there is no body */
  body_encoding: ContentEncoding | null;
  /** bytes in `body` (decoded) */
  body_size: number;
  /** bytes as stored in the flow (still content-encoded) */
  stored_size: number;
  /** false when the Content-Encoding could not be undone and `body` is the stored bytes */
  body_decoded: boolean;
  trailers: [string, string][] | null;
  timestamp_start: number;
  timestamp_end: number | null;
}

/** An HTTP request. */
export interface RequestJson extends HttpMessageJson {
  method: string;
  /** the full URL (`host:port` for CONNECT) */
  url: string;
  scheme: string;
  host: string;
  port: number;
  /** path and query */
  path: string;
  /** `:authority` (HTTP/2) or an absolute-form target's authority; "" for most HTTP/1 requests */
  authority: string;
}

/** An HTTP response. */
export interface ResponseJson extends HttpMessageJson {
  status_code: number;
  reason: string;
}

/** A WebSocket, TCP or UDP message. */
export interface MessageJson {
  from_client: boolean;
  /** WebSocket only: `text` or `binary` */
  type?: "text" | "binary";
  content: string;
  content_encoding: ContentEncoding;
  timestamp: number;
  /** WebSocket only */
  dropped?: boolean;
  /** WebSocket only */
  injected?: boolean;
}

/** A WebSocket connection of an HTTP flow. */
export interface WebSocketJson {
  messages: MessageJson[];
  close_code: number | null;
  close_reason: string | null;
  closed_by_client: boolean | null;
  timestamp_end: number | null;
}

/** A DNS query or response. */
export interface DnsMessageJson {
  id: number;
  query: boolean;
  op_code: number;
  response_code: number;
  authoritative_answer: boolean;
  truncation: boolean;
  recursion_desired: boolean;
  recursion_available: boolean;
  questions: { name: string; type: string; class: number }[];
  answers: DnsRecordJson[];
  authorities: DnsRecordJson[];
  additionals: DnsRecordJson[];
  timestamp: number | null;
}

/** A DNS resource record; `data` as text (`8.8.8.8`, a name) or `0x…` hex. */
export interface DnsRecordJson {
  name: string;
  type: string;
  class: number;
  ttl: number;
  data: string;
}

/** One flow. Fields of other flow types are left out, never null. */
export interface FlowJson {
  id: string;
  type: Flow["type"];
  timestamp_created: number;
  client_conn: ConnectionJson;
  server_conn: ConnectionJson;
  /** http */
  request?: RequestJson;
  /** http (null when none was received) */
  response?: ResponseJson | null;
  /** http, when the flow upgraded to a WebSocket */
  websocket?: WebSocketJson;
  /** tcp and udp */
  messages?: MessageJson[];
  /** dns */
  dns_request?: DnsMessageJson;
  /** dns */
  dns_response?: DnsMessageJson | null;
  error: { msg: string; timestamp: number } | null;
  /** the marker, "" when not marked */
  marked: string;
  comment: string;
  /** `request` or `response` when replayed */
  is_replay: string | null;
  metadata: { [key: string]: JsonValue };
}

/** Bytes as text when they are valid UTF-8, else base64. */
export function bytesToJson(bytes: Uint8Array): { content: string; encoding: ContentEncoding } {
  const buf = asBuffer(bytes);
  return isUtf8(buf)
    ? { content: buf.toString("utf8"), encoding: "utf8" }
    : { content: buf.toString("base64"), encoding: "base64" };
}

/** One flow as its JSON object: the common fields, the fields of its type, then the user's annotations. */
export function flowToJson(flow: Flow): FlowJson {
  const error = flow.error;
  const { client, server } = flow.readConnections();
  return {
    id: flow.id,
    type: flow.type,
    timestamp_created: flow.timestampCreated,
    client_conn: connectionJson(client),
    server_conn: connectionJson(server),
    ...typeFields(flow),
    error: error ? { msg: error.msg, timestamp: error.timestamp } : null,
    marked: flow.marked,
    comment: flow.comment,
    is_replay: flow.isReplay,
    metadata: metadataJson(flow.metadata),
  };
}

function typeFields(flow: Flow): Partial<FlowJson> {
  switch (flow.type) {
    case "http": {
      const f = flow as HTTPFlow;
      const ws = f.websocket;
      return {
        request: requestJson(f),
        response: f.response ? responseJson(f.response) : null,
        ...(ws && { websocket: websocketJson(ws) }),
      };
    }
    case "tcp":
    case "udp":
      return { messages: streamMessagesJson(flow as TCPFlow | UDPFlow) };
    case "dns": {
      const f = flow as DNSFlow;
      return { dns_request: dnsJson(f.request), dns_response: f.response ? dnsJson(f.response) : null };
    }
  }
}

/** The WebSocket of an HTTP flow. */
export function websocketJson(ws: NonNullable<HTTPFlow["websocket"]>): WebSocketJson {
  return {
    messages: ws.messages.map((m) => ({
      from_client: m.fromClient,
      type: m.isText ? ("text" as const) : ("binary" as const),
      ...messageContent(m.content),
      timestamp: m.timestamp,
      dropped: m.dropped,
      injected: m.injected,
    })),
    close_code: ws.closeCode,
    close_reason: ws.closeReason,
    closed_by_client: ws.closedByClient,
    timestamp_end: ws.timestampEnd,
  };
}

/** The messages of a TCP or UDP flow. */
export function streamMessagesJson(flow: TCPFlow | UDPFlow): MessageJson[] {
  return flow.messages.map((m) => ({
    from_client: m.fromClient,
    ...messageContent(m.content),
    timestamp: m.timestamp,
  }));
}

/** One flow as a JSON Lines line (with its newline). */
export function flowToJsonLine(flow: Flow): string {
  return `${JSON.stringify(flowToJson(flow))}\n`;
}

function messageContent(bytes: Buffer): { content: string; content_encoding: ContentEncoding } {
  const { content, encoding } = bytesToJson(bytes);
  return { content, content_encoding: encoding };
}

/** An address as `host:port` (`[v6]:port`), or null. */
export function address(a: Address | null): string | null {
  if (a === null) return null;
  return a[0].includes(":") ? `[${a[0]}]:${a[1]}` : `${a[0]}:${a[1]}`;
}

function connectionJson(conn: Client | Server): ConnectionJson {
  const alpn = conn.alpn;
  const common = {
    tls: conn.tls,
    tls_version: conn.tlsVersion,
    sni: conn.sni,
    alpn: alpn === null ? null : alpn.toString("latin1"),
    timestamp_start: conn.timestampStart,
    timestamp_end: conn.timestampEnd,
  };
  const rest = {
    id: conn.id,
    sockname: address(conn.sockname),
    transport_protocol: conn.transportProtocol,
    error: conn.error,
    cipher: conn.cipher,
    cipher_list: conn.cipherList,
    alpn_offers: conn.alpnOffers.map((a) => a.toString("latin1")),
    certificate_list: conn.certificateList.map((c) => c.toString("base64")),
    timestamp_tls_setup: conn.timestampTlsSetup,
  };
  if ("timestampTcpSetup" in conn) {
    const server = conn as Server;
    return {
      address: address(server.address),
      peer: address(server.peername),
      ...common,
      ...rest,
      timestamp_tcp_setup: server.timestampTcpSetup,
    };
  }
  return { address: address(conn.peername), ...common, ...rest, proxy_mode: (conn as Client).proxyMode };
}

function headerPairs(headers: Headers | null): [string, string][] | null {
  return headers === null ? null : [...headers];
}

/** The body a line shows: decoded from its Content-Encoding, or as stored when that fails (`decoded` false). */
export function shownBody(message: Message): { raw: Buffer | null; content: Buffer | null; decoded: boolean } {
  const raw = message.rawContent;
  try {
    return { raw, content: message.getContent(true, true), decoded: true };
  } catch {
    return { raw, content: raw, decoded: false }; // the stored bytes stand in for a body that cannot be decoded
  }
}

function messageJson(message: Message): HttpMessageJson {
  const { raw, content, decoded } = shownBody(message);
  const body = content === null ? null : bytesToJson(content);
  return {
    http_version: message.httpVersion,
    headers: headerPairs(message.headers)!,
    body: body?.content ?? null,
    body_encoding: body?.encoding ?? null,
    body_size: content?.length ?? 0,
    stored_size: raw?.length ?? 0,
    body_decoded: decoded,
    trailers: headerPairs(message.trailers),
    timestamp_start: message.timestampStart,
    timestamp_end: message.timestampEnd,
  };
}

function requestJson(flow: HTTPFlow): RequestJson {
  const r = flow.request;
  return {
    method: r.method,
    url: r.url,
    scheme: r.scheme,
    host: r.host,
    port: r.port,
    path: r.path,
    authority: r.authority,
    ...messageJson(r),
  };
}

function responseJson(r: NonNullable<HTTPFlow["response"]>): ResponseJson {
  return { status_code: r.statusCode, reason: r.reason, ...messageJson(r) };
}

/** A DNS query or response. */
export function dnsJson(m: DNSMessage): DnsMessageJson {
  const records = (list: DNSMessage["answers"]): DnsRecordJson[] =>
    list.map((rr) => ({
      name: rr.name,
      type: dnsTypeName(rr.type),
      class: rr.class,
      ttl: rr.ttl,
      data: recordDataText(rr),
    }));
  return {
    id: m.id,
    query: m.query,
    op_code: m.opCode,
    response_code: m.responseCode,
    authoritative_answer: m.authoritativeAnswer,
    truncation: m.truncation,
    recursion_desired: m.recursionDesired,
    recursion_available: m.recursionAvailable,
    questions: m.questions.map((q) => ({ name: q.name, type: dnsTypeName(q.type), class: q.class })),
    answers: records(m.answers),
    authorities: records(m.authorities),
    additionals: records(m.additionals),
    timestamp: m.timestamp,
  };
}

/** A flow's metadata: keys as text, values as valueJson writes them. */
export function metadataJson(metadata: Map<unknown, TValue>): { [key: string]: JsonValue } {
  const out: { [key: string]: JsonValue } = {};
  for (const [k, v] of metadata) out[typeof k === "string" ? k : pythonStr(k as TValue)] = valueJson(v);
  return out;
}

/** A state value as JSON: bytes as text (or base64 when not UTF-8), big ints as strings. */
function valueJson(v: TValue): JsonValue {
  if (v instanceof RawElement) return valueJson(resolve(v));
  if (v === null || typeof v === "boolean" || typeof v === "number" || typeof v === "string") return v;
  if (v instanceof PyFloat) return v.value;
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Buffer.isBuffer(v)) return bytesToJson(v).content;
  if (Array.isArray(v)) return v.map(valueJson);
  return metadataJson(v);
}
