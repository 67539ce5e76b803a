/**
 * Upgrade steps for the release-numbered versions, 0.11 up to 3.0 → 4 (mitm-format.md §3).
 * They run after every dict key has been turned into str (see stringifyKeys), so they use
 * str keys where mitmproxy's own 0.11 – 0.16 steps use bytes keys.
 */
import type { TDict, TValue } from "../tnetstring.js";
import type { UpgradeStep } from "./upgrade-step.js";
import { alwaysStr, dictOrNull, need, needDict, pop, take, truthy } from "./values.js";

/** `[1, 1]` → `b"HTTP/1.1"` */
function httpVersionBytes(v: TValue, where: string): Buffer {
  if (!Array.isArray(v)) return Buffer.from(`HTTP/${String(v)}`);
  const parts = v.map((x) => (typeof x === "number" || typeof x === "bigint" ? String(x) : String(alwaysStr(x, where))));
  return Buffer.from(`HTTP/${parts.join(".")}`);
}

/** convert_unicode's value part: these few fields were bytes in Python 2 files. */
function convertUnicodeValues(flow: TDict): void {
  for (const key of ["type", "id"]) if (flow.has(key)) flow.set(key, alwaysStr(need(flow, key, "flow"), `flow.${key}`));
  const request = flow.get("request");
  if (request instanceof Map && request.has("first_line_format"))
    request.set("first_line_format", alwaysStr(need(request, "first_line_format", "request"), "request.first_line_format"));
  const error = flow.get("error");
  if (error instanceof Map && error.has("msg")) error.set("msg", alwaysStr(need(error, "msg", "error"), "error.msg"));
}

/** 1.0 → 2.0: `{address: [host, port], use_ipv6}` → `[host, port]` */
function flattenAddress(conn: TDict, key: string, where: string): void {
  const v = need(conn, key, where);
  if (v instanceof Map) conn.set(key, need(v, "address", `${where}.${key}`));
}

export const LEGACY_STEPS: ReadonlyMap<string, UpgradeStep> = new Map<string, UpgradeStep>([
  ["0.11", (f) => (f.set("version", [0, 12]), f)],
  ["0.12", (f) => (f.set("version", [0, 13]), f)],
  [
    "0.13",
    (f) => {
      const request = needDict(f, "request", "flow");
      request.set("first_line_format", take(request, "form_in", "request"));
      request.set("http_version", httpVersionBytes(take(request, "httpversion", "request"), "request.httpversion"));
      // mitmproxy assumes a response here; a flow without one simply has nothing to rename
      const response = dictOrNull(f, "response", "flow", true);
      if (response) {
        response.set("http_version", httpVersionBytes(take(response, "httpversion", "response"), "response.httpversion"));
        response.set("status_code", take(response, "code", "response"));
        response.set("body", take(response, "content", "response"));
      }
      const server = needDict(f, "server_conn", "flow");
      take(server, "state", "server_conn");
      server.set("via", null);
      f.set("version", [0, 14]);
      return f;
    },
  ],
  ["0.14", (f) => (f.set("version", [0, 15]), f)],
  [
    "0.15",
    (f) => {
      for (const m of ["request", "response"]) {
        const message = dictOrNull(f, m, "flow", true);
        if (message?.has("body")) message.set("content", take(message, "body", m));
      }
      const response = dictOrNull(f, "response", "flow", true);
      if (response?.has("msg")) response.set("reason", take(response, "msg", "response"));
      needDict(f, "request", "flow").delete("form_out");
      f.set("version", [0, 16]);
      return f;
    },
  ],
  [
    "0.16",
    (f) => {
      needDict(f, "server_conn", "flow").set("peer_address", null);
      f.set("version", [0, 17]);
      return f;
    },
  ],
  [
    "0.17",
    (f) => {
      convertUnicodeValues(f);
      const server = needDict(f, "server_conn", "flow");
      server.set("ip_address", pop(server, "peer_address"));
      f.set("marked", false);
      f.set("version", [0, 18]);
      return f;
    },
  ],
  [
    "0.18",
    (f) => {
      convertUnicodeValues(f);
      const request = needDict(f, "request", "flow");
      request.delete("stickyauth");
      request.delete("stickycookie");
      const client = needDict(f, "client_conn", "flow");
      for (const k of ["sni", "alpn_proto_negotiated", "cipher_name", "tls_version"]) client.set(k, null);
      const server = needDict(f, "server_conn", "flow");
      server.set("alpn_proto_negotiated", null);
      const via = need(server, "via", "server_conn");
      if (via instanceof Map && truthy(via)) via.set("alpn_proto_negotiated", null);
      f.set("mode", "regular");
      f.set("metadata", new Map());
      f.set("version", [0, 19]);
      return f;
    },
  ],
  [
    "0.19",
    (f) => {
      convertUnicodeValues(f);
      f.set("version", [1, 0, 0]);
      return f;
    },
  ],
  [
    "1.0",
    (f) => {
      f.set("version", [2, 0, 0]);
      const client = needDict(f, "client_conn", "flow");
      flattenAddress(client, "address", "client_conn");
      const server = needDict(f, "server_conn", "flow");
      for (const conn of [server, viaOf(server)]) {
        if (!conn) continue;
        flattenAddress(conn, "address", "server_conn");
        flattenAddress(conn, "source_address", "server_conn");
        if (truthy(need(conn, "ip_address", "server_conn"))) flattenAddress(conn, "ip_address", "server_conn");
      }
      return f;
    },
  ],
  [
    "2.0",
    (f) => {
      f.set("version", [3, 0, 0]);
      needDict(f, "client_conn", "flow").set("mitmcert", null);
      const server = needDict(f, "server_conn", "flow");
      for (const conn of [server, viaOf(server)]) conn?.set("tls_version", null);
      return f;
    },
  ],
  ["3.0", (f) => (f.set("version", 4), f)],
]);

/** The old nested upstream-proxy connection (`server_conn.via`, a dict until 18 → 19), if any. */
export function viaOf(server: TDict): TDict | null {
  const via = need(server, "via", "server_conn");
  return via instanceof Map && truthy(via) ? via : null;
}
