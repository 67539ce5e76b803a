/**
 * Comparing two paired flows field by field. Cheap checks come first: flows whose stored
 * bytes are equal are equal, and a top-level part (request, response, connections…) whose
 * unparsed bytes are equal is never parsed, so unchanged parts cost a memcmp.
 */
import { FlowRecord, resolveEntry } from "../format/flow-record.js";
import { RawElement, type TDict, storedEntry } from "../format/tnetstring.js";
import type {
  DNSFlow,
  DNSMessage,
  Flow,
  HTTPFlow,
  Request,
  Response,
  TCPFlow,
  UDPFlow,
  WebSocketData,
} from "../model/index.js";
import { diffBodies } from "./body-diff.js";
import type { Change, JsonValue } from "./changes.js";
import type { CompareOptions, IgnoreCategory } from "./diff-options.js";
import { diffHeaders } from "./header-diff.js";
import { diffJson } from "../model/json-diff.js";
import { type ComparedMessage, diffMessages } from "./message-diff.js";
import { stateToJson } from "./state-values.js";

/** Connection keys (v21 names) by the `--ignore` category that leaves them out. */
const CONNECTION_KEYS: Partial<Record<IgnoreCategory, readonly string[]>> = {
  timestamps: ["timestamp_start", "timestamp_end", "timestamp_tls_setup", "timestamp_tcp_setup"],
  connections: ["id"],
  addresses: ["peername", "sockname", "address", "via"],
  mitmcert: ["mitmcert"],
  tls: ["tls", "certificate_list", "alpn", "alpn_offers", "cipher", "cipher_list", "tls_version", "sni"],
};

/** Compares flows under one set of options. */
export class FlowComparer {
  private readonly timestamps: boolean;
  private readonly ignoredConnectionKeys: Set<string>;

  constructor(readonly options: CompareOptions) {
    this.timestamps = !options.ignore.has("timestamps");
    this.ignoredConnectionKeys = new Set();
    for (const c of options.ignore) for (const k of CONNECTION_KEYS[c] ?? []) this.ignoredConnectionKeys.add(k);
  }

  /** Every difference between `a` and `b` that the options do not leave out; [] when they are the same. */
  compare(a: Flow, b: Flow): Change[] {
    const out: Change[] = [];
    const [sa, sb] = [a.state, b.state];
    if (sa instanceof FlowRecord && sb instanceof FlowRecord && !sa.touched && !sb.touched && sa.raw.bytes.equals(sb.raw.bytes))
      return out; // the same bytes, unchanged since read
    if (a.type !== b.type) {
      out.push({ kind: "value", field: "type", a: a.type, b: b.type });
      return out;
    }
    const ta = a.state.top();
    const tb = b.state.top();
    switch (a.type) {
      case "http":
        this.http(a as HTTPFlow, b as HTTPFlow, ta, tb, out);
        break;
      case "tcp":
      case "udp":
        if (!sameStored(ta, tb, "messages"))
          diffMessages("messages", socketMessages(a as TCPFlow), socketMessages(b as UDPFlow), this.timestamps, out);
        break;
      case "dns":
        this.dns(a as DNSFlow, b as DNSFlow, ta, tb, out);
        break;
    }
    this.annotations(a, b, ta, tb, out);
    this.connections(a, b, ta, tb, out);
    return out;
  }

  private http(a: HTTPFlow, b: HTTPFlow, ta: TDict, tb: TDict, out: Change[]): void {
    if (!sameStored(ta, tb, "request")) this.request(a.request, b.request, out);
    if (!sameStored(ta, tb, "response")) {
      const ra = a.response;
      const rb = b.response;
      if (ra && rb) this.response(ra, rb, out);
      else if (ra || rb) out.push(presence("response", ra && statusLine(ra), rb && statusLine(rb)));
    }
    if (!sameStored(ta, tb, "websocket")) {
      const wa = a.websocket;
      const wb = b.websocket;
      if (wa && wb) this.websocket(wa, wb, out);
      else if (wa || wb) out.push(presence("websocket", wa && messageCount(wa), wb && messageCount(wb)));
    }
  }

  private request(a: Request, b: Request, out: Change[]): void {
    value(out, "request.method", a.method, b.method);
    value(out, "request.url", a.url, b.url);
    value(out, "request.authority", a.authority, b.authority);
    value(out, "request.http_version", a.httpVersion, b.httpVersion);
    this.message("request", a, b, out);
  }

  private response(a: Response, b: Response, out: Change[]): void {
    value(out, "response.status_code", a.statusCode, b.statusCode);
    value(out, "response.reason", a.reason, b.reason);
    value(out, "response.http_version", a.httpVersion, b.httpVersion);
    this.message("response", a, b, out);
  }

  /** Headers, body, trailers and timestamps of a request or response. */
  private message(side: "request" | "response", a: Request | Response, b: Request | Response, out: Change[]): void {
    const o = this.options;
    diffHeaders(`${side}.headers`, a.headers.fields, b.headers.fields, o.ignoreHeaders, o.headerOrder, out);
    diffBodies(`${side}.body`, a, b, o.context, out);
    diffHeaders(
      `${side}.trailers`,
      a.trailers?.fields ?? null,
      b.trailers?.fields ?? null,
      o.ignoreHeaders,
      o.headerOrder,
      out,
    );
    if (this.timestamps) {
      value(out, `${side}.timestamp_start`, a.timestampStart, b.timestampStart);
      value(out, `${side}.timestamp_end`, a.timestampEnd, b.timestampEnd);
    }
  }

  private websocket(a: WebSocketData, b: WebSocketData, out: Change[]): void {
    const messages = (ws: WebSocketData): ComparedMessage[] =>
      ws.messages.map((m) => ({
        fromClient: m.fromClient,
        type: m.isText ? "text" : "binary",
        content: m.content,
        timestamp: m.timestamp,
        dropped: m.dropped,
        injected: m.injected,
      }));
    diffMessages("websocket.messages", messages(a), messages(b), this.timestamps, out);
    value(out, "websocket.closed_by_client", a.closedByClient, b.closedByClient);
    value(out, "websocket.close_code", a.closeCode, b.closeCode);
    value(out, "websocket.close_reason", a.closeReason, b.closeReason);
    if (this.timestamps) value(out, "websocket.timestamp_end", a.timestampEnd, b.timestampEnd);
  }

  private dns(a: DNSFlow, b: DNSFlow, ta: TDict, tb: TDict, out: Change[]): void {
    const json = (m: DNSMessage | null): JsonValue =>
      m && stateToJson(m.state, (k) => k === "timestamp" && !this.timestamps);
    if (!sameStored(ta, tb, "request")) structural(out, "request", json(a.request), json(b.request));
    if (!sameStored(ta, tb, "response")) {
      const ra = a.response;
      const rb = b.response;
      if (ra && rb) structural(out, "response", json(ra), json(rb));
      else if (ra || rb) out.push(presence("response", ra && "response", rb && "response"));
    }
  }

  /** Error, comment, marker, metadata, replay and interception state, creation time. */
  private annotations(a: Flow, b: Flow, ta: TDict, tb: TDict, out: Change[]): void {
    const ignore = this.options.ignore;
    if (!sameStored(ta, tb, "error")) {
      const ea = a.error;
      const eb = b.error;
      if (ea && eb) {
        value(out, "error.msg", ea.msg, eb.msg);
        if (this.timestamps) value(out, "error.timestamp", ea.timestamp, eb.timestamp);
      } else if (ea || eb) out.push(presence("error", ea?.msg, eb?.msg));
    }
    if (!ignore.has("comment")) value(out, "comment", a.comment, b.comment);
    if (!ignore.has("marked")) value(out, "marked", a.marked, b.marked);
    if (!ignore.has("metadata") && !sameStored(ta, tb, "metadata"))
      structural(
        out,
        "metadata",
        stateToJson(resolveEntry(ta, "metadata") ?? new Map()),
        stateToJson(resolveEntry(tb, "metadata") ?? new Map()),
      );
    if (!ignore.has("replay")) value(out, "is_replay", a.isReplay, b.isReplay);
    value(out, "intercepted", a.intercepted, b.intercepted);
    if (this.timestamps) value(out, "timestamp_created", a.timestampCreated, b.timestampCreated);
  }

  /**
   * Client and server connections, in their version-21 shape: flows of other versions are
   * promoted first (only when the stored bytes differ, so same-version files never pay for it).
   */
  private connections(a: Flow, b: Flow, ta: TDict, tb: TDict, out: Change[]): void {
    if (sameStored(ta, tb, "client_conn") && sameStored(ta, tb, "server_conn")) return;
    const pa = a.state.promote();
    const pb = b.state.promote();
    const leaveOut = (k: string): boolean => this.ignoredConnectionKeys.has(k);
    for (const key of ["client_conn", "server_conn"]) {
      if (sameStored(pa, pb, key)) continue;
      structural(out, key, stateToJson(resolveEntry(pa, key), leaveOut), stateToJson(resolveEntry(pb, key), leaveOut));
    }
  }
}

/** True when a top-level entry is still unparsed on both sides and its bytes are equal. */
function sameStored(ta: TDict, tb: TDict, key: string): boolean {
  const va = storedEntry(ta, key);
  const vb = storedEntry(tb, key);
  if (va instanceof RawElement && vb instanceof RawElement) return va.bytes.equals(vb.bytes);
  return (va === null || va === undefined) && (vb === null || vb === undefined);
}

function value(
  out: Change[],
  field: string,
  a: string | number | boolean | null,
  b: string | number | boolean | null,
): void {
  if (a !== b) out.push({ kind: "value", field, a, b });
}

/** A part present on one side only: `a`/`b` say what it is where it exists. */
function presence(field: string, a: JsonValue | undefined, b: JsonValue | undefined): Change {
  return { kind: "value", field, ...(a != null && { a }), ...(b != null && { b }) };
}

/** Structured parts (metadata, connections, DNS messages) as one value change per differing path. */
function structural(out: Change[], root: string, a: JsonValue, b: JsonValue): void {
  for (const d of diffJson(a, b, root))
    out.push({ kind: "value", field: d.path, ...("a" in d && { a: d.a }), ...("b" in d && { b: d.b }) });
}

function statusLine(r: Response): string {
  return `${r.statusCode} ${r.reason}`.trimEnd();
}

function messageCount(ws: WebSocketData): string {
  const n = ws.messages.length;
  return `${n} message${n === 1 ? "" : "s"}`;
}

function socketMessages(flow: TCPFlow | UDPFlow): ComparedMessage[] {
  return flow.messages.map((m) => ({ fromClient: m.fromClient, content: m.content, timestamp: m.timestamp }));
}
