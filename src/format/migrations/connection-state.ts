/**
 * The connection `state` that v17 and v18 files carry (0 closed, 1 can read, 2 can write,
 * 3 open) and v20+ dropped. It is not recoverable, so it is inferred from what the flow
 * shows; these rules reproduce every v17/v18 file in testdata:
 *  - a connection with `timestamp_end` was closed;
 *  - a server connection that never started was never opened (Server starts CLOSED);
 *  - TCP/UDP flows and WebSocket flows are saved when their connection ends;
 *  - a server that announced it closes the connection after the response (`Connection: close`,
 *    or HTTP/1.0 without keep-alive) had closed it by the time the flow was saved;
 *  - otherwise the flow was saved mid-connection (at `response`), which 8.1 – 9.0 wrote as open.
 */
import { resolve, type TDict, type TValue } from "../tnetstring.js";

const CLOSED = 0;
const OPEN = 3;

export function inferConnectionState(conn: TDict, side: "client" | "server", flow: TDict): number {
  if ((conn.get("timestamp_end") ?? null) !== null) return CLOSED;
  if (side === "server" && (conn.get("timestamp_start") ?? null) === null) return CLOSED;
  const type = flow.get("type");
  if (type === "tcp" || type === "udp") return CLOSED;
  if (type === "http") {
    if ((resolve(flow.get("websocket") ?? null) ?? null) !== null) return CLOSED;
    const response = resolve(flow.get("response") ?? null);
    if (side === "server" && response instanceof Map && serverCloses(response)) return CLOSED;
  }
  return OPEN;
}

function serverCloses(response: TDict): boolean {
  const tokens = new Set<string>();
  const headers = resolve(response.get("headers") ?? null);
  if (Array.isArray(headers)) {
    for (const h of headers) {
      if (!Array.isArray(h) || h.length < 2) continue;
      if (text(h[0]).toLowerCase() !== "connection") continue;
      for (const t of text(h[1]).split(",")) tokens.add(t.trim().toLowerCase());
    }
  }
  if (tokens.has("close")) return true;
  return text(response.get("http_version") ?? null) === "HTTP/1.0" && !tokens.has("keep-alive");
}

function text(v: TValue): string {
  if (typeof v === "string") return v;
  if (v instanceof Uint8Array) return Buffer.from(v).toString("latin1");
  return "";
}
