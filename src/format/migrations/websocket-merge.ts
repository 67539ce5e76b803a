/**
 * 11 → 12: before v12 a WebSocket was two flows, the HTTP handshake (metadata key
 * `websocket`) and a `type: "websocket"` flow pointing at it (`metadata.websocket_handshake`).
 * Handshakes are remembered run-wide; a WebSocket flow is replaced by its remembered
 * handshake (or a made-up one) carrying the WebSocket data, so the handshake id appears twice.
 */
import type { TDict, TValue } from "../tnetstring.js";
import type { UpgradeStep } from "./upgrade-step.js";
import { deepCopy, need, needDict } from "./values.js";

const DUPLICATED_NOTE =
  "This WebSocket flow has been migrated from an old file format version and may appear duplicated.";

function tableKey(id: TValue): string {
  return typeof id === "string" ? id : String(id);
}

/** What mitmproxy makes up when the handshake flow was not seen: `GET http://unknown/`. */
function madeUpHandshake(ws: TDict): TDict {
  const where = "websocket flow";
  return new Map<string, TValue>([
    ["client_conn", need(ws, "client_conn", where)],
    ["error", need(ws, "error", where)],
    ["id", need(ws, "id", where)],
    ["intercepted", need(ws, "intercepted", where)],
    ["is_replay", need(ws, "is_replay", where)],
    ["marked", need(ws, "marked", where)],
    ["metadata", new Map()],
    ["mode", "transparent"],
    [
      "request",
      new Map<string, TValue>([
        ["authority", Buffer.alloc(0)],
        ["content", null],
        ["headers", []],
        ["host", Buffer.from("unknown")],
        ["http_version", Buffer.from("HTTP/1.1")],
        ["method", Buffer.from("GET")],
        ["path", Buffer.from("/")],
        ["port", 80],
        ["scheme", Buffer.from("http")],
        ["timestamp_end", 0],
        ["timestamp_start", 0],
        ["trailers", null],
      ]),
    ],
    ["response", null],
    ["server_conn", need(ws, "server_conn", where)],
    ["type", "http"],
    ["version", 12],
  ]);
}

export const mergeWebsocketFlows: UpgradeStep = (flow, ctx, asBackup) => {
  flow.set("version", 12);
  const metadata = needDict(flow, "metadata", "flow");
  // A backup is an old state of a flow, not a flow of the run: it must not claim or offer handshakes.
  if (metadata.has("websocket") && !asBackup)
    ctx.websocketHandshakes.set(tableKey(need(flow, "id", "flow")), deepCopy(flow));

  if (!metadata.has("websocket_handshake")) {
    flow.set("websocket", null);
    return flow;
  }

  const ws = flow;
  const handshakeId = tableKey(need(metadata, "websocket_handshake", "metadata"));
  let result = ctx.websocketHandshakes.get(handshakeId);
  if (result && asBackup) result = deepCopy(result);
  else if (result) ctx.websocketHandshakes.delete(handshakeId);
  result ??= madeUpHandshake(ws);

  needDict(result, "metadata", "flow").set("duplicated", DUPLICATED_NOTE);
  const server = result.get("server_conn");
  const serverEnd = server instanceof Map ? (server.get("timestamp_end") ?? null) : null;
  result.set(
    "websocket",
    new Map<string, TValue>([
      ["messages", need(ws, "messages", "websocket flow")],
      ["closed_by_client", need(ws, "close_sender", "websocket flow") === "client"],
      ["close_code", need(ws, "close_code", "websocket flow")],
      ["close_reason", need(ws, "close_reason", "websocket flow")],
      ["timestamp_end", serverEnd],
    ]),
  );
  return result;
};
