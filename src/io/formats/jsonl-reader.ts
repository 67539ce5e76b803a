/**
 * JSON Lines back into flows: what `show --json` and `-o x.jsonl` write (docs/jsonl.md)
 * becomes a version-21 flow again, so a capture can be edited with jq and converted back.
 * Bodies given decoded are encoded again with their Content-Encoding; what JSON Lines does
 * not carry (connection ids when absent, certificates, ciphers) gets mitmproxy's defaults.
 */
import { isIP } from "node:net";
import { FlowStateError } from "../../errors.js";
import {
  DNS_MESSAGE_V21,
  DNS_QUESTION,
  DNS_RESOURCE_RECORD,
  REQUEST,
  RESPONSE,
  WEBSOCKET,
  inKeyOrder,
} from "../../format/migrations/key-orders.js";
import type { TDict, TValue } from "../../format/tnetstring.js";
import { dnsTypeName } from "../../model/dns-text.js";
import { ContentEncodingError, FlowError, encodeContent, encodeUtf8Escaped, type Address } from "../../model/index.js";
import { toFloatValue } from "../../model/values.js";
import { checkFlowShape } from "./jsonl-shape.js";
import { clientConnDict, flowDict, serverConnDict } from "./new-flow-state.js";
import type {
  ConnectionJson,
  DnsMessageJson,
  DnsRecordJson,
  FlowJson,
  HttpMessageJson,
  JsonValue,
  MessageJson,
} from "./jsonl-writer.js";

function schema(message: string): never {
  throw new FlowStateError("E_FLOW_SCHEMA", message);
}

const float = (t: number | null | undefined): TValue => (typeof t === "number" ? toFloatValue(t) : null);

/** Text or base64 content back to its bytes. */
function contentBytes(content: string, encoding: string | null | undefined): Buffer {
  return encoding === "base64" ? Buffer.from(content, "base64") : encodeUtf8Escaped(content);
}

/** `host:port` or `[v6]:port` as an address. */
function parseAddress(text: string | null | undefined): Address | null {
  if (typeof text !== "string") return null;
  const m = /^\[(.*)\]:(\d+)$/.exec(text) ?? /^(.*):(\d+)$/.exec(text);
  if (!m) schema(`address ${JSON.stringify(text)} is not host:port`);
  return [m[1]!, Number(m[2])];
}

function connectionInit(c: ConnectionJson | undefined) {
  return {
    tls: c?.tls ?? false,
    tlsVersion: c?.tls_version ?? null,
    sni: c?.sni ?? null,
    alpn: typeof c?.alpn === "string" ? Buffer.from(c.alpn, "latin1") : null,
    timestampStart: c?.timestamp_start ?? null,
    timestampEnd: c?.timestamp_end ?? null,
    id: typeof c?.id === "string" ? c.id : undefined,
    sockname: parseAddress(c?.sockname),
    transportProtocol: c?.transport_protocol,
    error: c?.error ?? null,
    cipher: c?.cipher ?? null,
    cipherList: c?.cipher_list ?? [],
    alpnOffers: (c?.alpn_offers ?? []).map((a) => Buffer.from(a, "latin1")),
    certificateList: (c?.certificate_list ?? []).map((der) => Buffer.from(der, "base64")),
    timestampTlsSetup: c?.timestamp_tls_setup ?? null,
  };
}

function headerList(pairs: [string, string][] | null | undefined): TValue[] | null {
  if (pairs === null || pairs === undefined) return null;
  if (!Array.isArray(pairs)) schema("headers are not a list of [name, value]");
  return pairs.map(([n, v]) => [encodeUtf8Escaped(String(n)), encodeUtf8Escaped(String(v))]);
}

/** The body as stored: the decoded body encoded again with the message's Content-Encoding. */
function storedBody(m: HttpMessageJson, headers: TValue[]): Buffer | null {
  if (m.body === null || m.body === undefined) return null;
  const bytes = contentBytes(m.body, m.body_encoding);
  if (m.body_decoded === false) return bytes; // the stored bytes already
  const ce = headers.find((f) => (f as Buffer[])[0]!.toString("latin1").toLowerCase() === "content-encoding");
  const encoding = ce ? (ce as Buffer[])[1]!.toString("latin1") : "";
  if (!encoding || !bytes.length) return bytes;
  try {
    return encodeContent(bytes, encoding);
  } catch (e) {
    if (e instanceof ContentEncodingError) return bytes;
    throw e;
  }
}

function messageFields(m: HttpMessageJson) {
  const headers = headerList(m.headers) ?? [];
  return {
    http_version: Buffer.from(m.http_version ?? "HTTP/1.1", "latin1"),
    headers,
    content: storedBody(m, headers),
    trailers: headerList(m.trailers),
    timestamp_start: float(m.timestamp_start ?? 0),
    timestamp_end: float(m.timestamp_end),
  };
}

function httpEntries(flow: FlowJson, dict: TDict): void {
  const r = flow.request;
  if (!r) schema("an http flow without request");
  dict.set(
    "request",
    inKeyOrder(REQUEST, {
      ...messageFields(r),
      host: r.host,
      port: r.port,
      method: Buffer.from(r.method, "latin1"),
      scheme: Buffer.from(r.scheme, "latin1"),
      authority: Buffer.from(r.authority ?? "", "latin1"),
      path: encodeUtf8Escaped(r.path),
    }),
  );
  const s = flow.response;
  dict.set(
    "response",
    s
      ? inKeyOrder(RESPONSE, {
          ...messageFields(s),
          status_code: s.status_code,
          reason: Buffer.from(s.reason, "latin1"),
        })
      : null,
  );
  const ws = flow.websocket;
  dict.set(
    "websocket",
    ws
      ? inKeyOrder(WEBSOCKET, {
          messages: ws.messages.map((m) => [
            m.type === "binary" ? 2 : 1,
            m.from_client,
            contentBytes(m.content, m.content_encoding),
            float(m.timestamp),
            m.dropped ?? false,
            m.injected ?? false,
          ]),
          closed_by_client: ws.closed_by_client,
          close_code: ws.close_code,
          close_reason: ws.close_reason,
          timestamp_end: float(ws.timestamp_end),
        })
      : null,
  );
}

function streamMessages(messages: MessageJson[] | undefined): TValue[] {
  if (!Array.isArray(messages)) schema("a tcp or udp flow without messages");
  return messages.map((m) => [m.from_client, contentBytes(m.content, m.content_encoding), float(m.timestamp)]);
}

let dnsTypes: Map<string, number> | undefined;
function dnsType(name: string): number {
  if (!dnsTypes) {
    dnsTypes = new Map();
    for (let t = 0; t < 65536; t++) dnsTypes.set(dnsTypeName(t), t);
  }
  const t = dnsTypes.get(name);
  if (t === undefined) schema(`unknown DNS record type ${JSON.stringify(name)}`);
  return t;
}

/** A record's data back from the words `recordDataText` writes. */
function recordData(type: string, text: string): Buffer {
  const hex = /^0x([0-9a-f]*)(?: \(invalid \w+ data\))?$/.exec(text);
  if (hex) return Buffer.from(hex[1]!, "hex");
  switch (type) {
    case "A":
      if (isIP(text) === 4) return Buffer.from(text.split(".").map(Number));
      break;
    case "AAAA":
      if (isIP(text) === 6) return ipv6Bytes(text);
      break;
    case "NS":
    case "CNAME":
    case "PTR": {
      const labels = text === "" ? [] : text.split(".");
      return Buffer.concat([
        ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "latin1")])),
        Buffer.from([0]),
      ]);
    }
    case "TXT":
      return Buffer.from(text, "utf8");
  }
  schema(`${type} record data ${JSON.stringify(text)} cannot be read back`);
}

function ipv6Bytes(text: string): Buffer {
  const [head, tail] = text.includes("::") ? text.split("::") : [text, undefined];
  const groups = (s: string | undefined) => (s ? s.split(":") : []);
  const h = groups(head);
  const t = groups(tail);
  const all = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function dnsMessage(m: DnsMessageJson): TDict {
  const records = (list: DnsRecordJson[]) =>
    list.map((rr) =>
      inKeyOrder(DNS_RESOURCE_RECORD, {
        name: rr.name,
        type: dnsType(rr.type),
        class_: rr.class,
        ttl: rr.ttl,
        data: recordData(rr.type, rr.data),
      }),
    );
  return inKeyOrder(DNS_MESSAGE_V21, {
    id: m.id,
    query: m.query,
    op_code: m.op_code,
    authoritative_answer: m.authoritative_answer,
    truncation: m.truncation,
    recursion_desired: m.recursion_desired,
    recursion_available: m.recursion_available,
    reserved: 0,
    response_code: m.response_code,
    questions: m.questions.map((q) =>
      inKeyOrder(DNS_QUESTION, { name: q.name, type: dnsType(q.type), class_: q.class }),
    ),
    answers: records(m.answers),
    authorities: records(m.authorities),
    additionals: records(m.additionals),
    timestamp: float(m.timestamp),
  });
}

function metadataValue(v: JsonValue): TValue {
  if (Array.isArray(v)) return v.map(metadataValue);
  if (v !== null && typeof v === "object") return new Map(Object.entries(v).map(([k, x]) => [k, metadataValue(x)]));
  return v;
}

/** One JSON Lines object (parsed) as a version-21 flow dict. */
export function jsonToFlowState(value: unknown): TDict {
  if (typeof value !== "object" || value === null || Array.isArray(value)) schema("the line is not a JSON object");
  const flow = value as FlowJson;
  const type = flow.type;
  if (type !== "http" && type !== "tcp" && type !== "udp" && type !== "dns")
    schema(type === undefined ? 'no "type": a JSON object, but not a flow (docs/jsonl.md)' : `unknown flow type ${JSON.stringify(type)}`);
  checkFlowShape(flow, type);
  const client = flow.client_conn;
  const server = flow.server_conn;
  const dict = flowDict(type, {
    id: typeof flow.id === "string" ? flow.id : undefined,
    client: clientConnDict({
      ...connectionInit(client),
      peername: parseAddress(client?.address),
      proxyMode: client?.proxy_mode,
    }),
    server: serverConnDict({
      ...connectionInit(server),
      address: parseAddress(server?.address),
      peername: parseAddress(server?.peer),
      timestampTcpSetup: server?.timestamp_tcp_setup ?? null,
    }),
    created: flow.timestamp_created ?? 0,
    marked: flow.marked ?? "",
    comment: flow.comment ?? "",
    isReplay: flow.is_replay ?? null,
    metadata: flow.metadata ? (metadataValue(flow.metadata) as TDict) : new Map(),
    error: flow.error ? FlowError.stateOf(flow.error) : null,
  });
  switch (type) {
    case "http":
      httpEntries(flow, dict);
      break;
    case "tcp":
    case "udp":
      dict.set("messages", streamMessages(flow.messages));
      break;
    case "dns":
      if (!flow.dns_request) schema("a dns flow without dns_request");
      dict.set("request", dnsMessage(flow.dns_request));
      dict.set("response", flow.dns_response ? dnsMessage(flow.dns_response) : null);
      break;
  }
  return dict;
}

/** Splits JSON Lines text into lines, one object each, in batches per chunk. */
export async function* jsonLines(
  chunks: AsyncIterable<Buffer>,
  release?: (chunk: Buffer) => void,
): AsyncGenerator<{ text: string; offset: number; index: number }[]> {
  let rest: Buffer[] = [];
  let restBytes = 0;
  let base = 0; // file offset of the first byte in `rest`
  let index = 0;
  for await (const chunk of chunks) {
    const batch: { text: string; offset: number; index: number }[] = [];
    let from = 0;
    for (let nl = chunk.indexOf(0x0a); nl >= 0; nl = chunk.indexOf(0x0a, from)) {
      const line = restBytes ? Buffer.concat([...rest, chunk.subarray(from, nl)]) : chunk.subarray(from, nl);
      const offset = base;
      base += restBytes + (nl - from) + 1;
      rest = [];
      restBytes = 0;
      from = nl + 1;
      const text = line.toString("utf8").trim();
      if (text) batch.push({ text, offset, index: index++ });
    }
    if (from < chunk.length) {
      rest.push(Buffer.from(chunk.subarray(from)));
      restBytes += chunk.length - from;
    }
    if (batch.length) yield batch;
    release?.(chunk); // lines are strings, the rest a copy: nothing views it
  }
  const text = Buffer.concat(rest).toString("utf8").trim();
  if (text) yield [{ text, offset: base, index }];
}
