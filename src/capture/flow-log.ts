/**
 * The capture's log of finished flows, like mitmdump's `--flow-detail`: 1 = one line per
 * flow (client, request line, status, size or error), 2 = plus headers, 3 = plus bodies
 * (cut at a limit), 4 = uncut.
 */
import type { Flow, Headers, HTTPFlow, Message, TCPFlow } from "../model/index.js";

const BODY_CUT = 2048;

/** A byte count as mitmproxy shows sizes: 512b, 1.0k, 2.3m. */
export function humanSize(n: number): string {
  if (n < 1024) return `${n}b`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)}k`;
  if (n < 1024 * 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)}m`;
  return `${(n / 1024 / 1024 / 1024).toFixed(1)}g`;
}

function clientOf(flow: Flow): string {
  const p = flow.clientConn.peername;
  return p ? `${p[0].includes(":") ? `[${p[0]}]` : p[0]}:${p[1]}` : "?";
}

function headerLines(h: Headers, indent: string): string[] {
  return h.fields.map(([n, v]) => `${indent}${n.toString("latin1")}: ${v.toString("latin1")}`);
}

function bodyLines(m: Message, indent: string, cut: boolean): string[] {
  const raw = m.rawContent;
  if (raw === null) return [`${indent}(body not recorded)`];
  if (raw.length === 0) return [];
  let text: string;
  try {
    text = m.text ?? "";
  } catch {
    text = raw.toString("latin1");
  }
  if (cut && text.length > BODY_CUT) text = text.slice(0, BODY_CUT) + "\n(cut off)";
  return text.split("\n").map((l) => indent + l);
}

function httpLines(f: HTTPFlow, detail: number): string[] {
  const req = f.request;
  let line = `${clientOf(f)}: ${req.method} ${req.prettyUrl}`;
  const res = f.response;
  if (res) {
    const size = res.rawContent === null ? "(streamed)" : humanSize(res.rawContent.length);
    line += ` << ${res.statusCode} ${res.reason} ${size}`;
  }
  if (f.websocket) line += ` (WebSocket, ${f.websocket.messages.length} messages)`;
  if (f.error) line += ` << ${f.error.msg}`;
  if (detail < 2) return [line];
  const out = [line, ...headerLines(req.headers, "    ")];
  if (detail >= 3) out.push(...bodyLines(req, "    ", detail < 4));
  if (res) {
    out.push(`    << ${res.httpVersion} ${res.statusCode} ${res.reason}`, ...headerLines(res.headers, "    "));
    if (detail >= 3) out.push(...bodyLines(res, "    ", detail < 4));
  }
  if (detail >= 3 && f.websocket)
    for (const m of f.websocket.messages) out.push(`    ${m.fromClient ? "->" : "<-"} ${m.isText ? m.content.toString("utf8") : `(${m.content.length} bytes binary)`}`);
  return out;
}

function tcpLines(f: TCPFlow, detail: number): string[] {
  const a = f.serverConn.address;
  const msgs = f.messages;
  const bytes = msgs.reduce((n, m) => n + m.content.length, 0);
  let line = `${clientOf(f)}: TCP ${a ? `${a[0]}:${a[1]}` : "?"} (${msgs.length} messages, ${humanSize(bytes)})`;
  if (f.error) line += ` << ${f.error.msg}`;
  if (detail < 3) return [line];
  return [line, ...msgs.map((m) => `    ${m.fromClient ? "->" : "<-"} ${humanSize(m.content.length)}`)];
}

/** The log lines of a finished flow at `detail` (1–4). */
export function flowLogLines(flow: Flow, detail: number): string[] {
  if (flow.type === "http") return httpLines(flow as HTTPFlow, detail);
  if (flow.type === "tcp") return tcpLines(flow as TCPFlow, detail);
  return [`${clientOf(flow)}: ${flow.type} flow`];
}
