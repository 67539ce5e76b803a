/**
 * Upgrade steps for the int versions, 4 → 5 up to 20 → 21 (mitm-format.md §3).
 * Each step follows what mitmproxy's compat code does, including its tolerance
 * (`pop(key, None)`) and its strictness (a missing key it indexes is a schema error).
 */
import { randomUUID } from "node:crypto";
import { PyFloat, type TDict, type TValue } from "../tnetstring.js";
import { LEGACY_STEPS, viaOf } from "./legacy-steps.js";
import type { UpgradeStep } from "./upgrade-step.js";
import { mergeWebsocketFlows } from "./websocket-merge.js";
import {
  decodeBackslashReplace,
  dictOrNull,
  need,
  needDict,
  needList,
  plusOne,
  pop,
  schemaError,
  take,
  truthy,
} from "./values.js";

/** A memo key equal for the values Python's tuple equality treats as equal (1 == 1.0). */
function memoKey(parts: TValue[]): string {
  return parts
    .map((p) => {
      if (p === null) return "none";
      if (typeof p === "boolean") return `n:${p ? 1 : 0}`;
      if (typeof p === "number" || typeof p === "bigint" || p instanceof PyFloat) return `n:${Number(p)}`;
      if (typeof p === "string") return `s:${JSON.stringify(p)}`;
      if (p instanceof Uint8Array) return `b:${Buffer.from(p).toString("hex")}`;
      return `?:${String(p)}`;
    })
    .join("|");
}

function addressParts(v: TValue): TValue[] {
  return Array.isArray(v) ? v : [v];
}

function clientAndServer(f: TDict): [TDict, TDict] {
  return [needDict(f, "client_conn", "flow"), needDict(f, "server_conn", "flow")];
}

/** 9 → 10, the part common to both sides. */
function addSansIoFields(conn: TDict, where: string): void {
  conn.set("state", 0);
  conn.set("error", null);
  conn.set("tls", need(conn, "tls_established", where));
  const alpn = need(conn, "alpn_proto_negotiated", where);
  conn.set("alpn_offers", truthy(alpn) ? [alpn] : null);
  const cipher = need(conn, "cipher_name", where);
  conn.set("cipher_list", truthy(cipher) ? [cipher] : null);
}

function serverSansIoFields(conn: TDict): void {
  const cert = pop(conn, "cert");
  conn.set("certificate_list", truthy(cert) ? [cert] : []);
  conn.set("cipher_name", null);
  conn.set("via2", null);
  addSansIoFields(conn, "server_conn");
}

/** 10 → 11 */
function renameAlpn(conn: TDict, where: string): void {
  const sni = need(conn, "sni", where);
  // bytes SNI became str; a 7.0-dev `true` is left for 18 → 19 to resolve
  if (sni instanceof Uint8Array) conn.set("sni", decodeBackslashReplace(sni, true));
  conn.set("alpn", take(conn, "alpn_proto_negotiated", where));
  if (!truthy(need(conn, "alpn_offers", where))) conn.set("alpn_offers", []);
  if (!truthy(need(conn, "cipher_list", where))) conn.set("cipher_list", []);
}

/** 18 → 19: old files may hold bytes hosts in address tuples. */
function decodeAddressHost(conn: TDict, key: string): void {
  const v = conn.get(key);
  if (Array.isArray(v) && v.length > 0 && v[0] instanceof Uint8Array) v[0] = decodeBackslashReplace(v[0]);
}

const INT_STEPS = new Map<string, UpgradeStep>([
  [
    "4",
    (f, ctx) => {
      f.set("version", 5);
      const [client, server] = clientAndServer(f);
      const clientKey = memoKey([need(client, "timestamp_start", "client_conn"), ...addressParts(need(client, "address", "client_conn"))]);
      client.set("id", memoize(ctx.clientConnectionIds, clientKey));
      for (const conn of [server, viaOf(server)]) {
        if (!conn) continue;
        const key = memoKey([need(conn, "timestamp_start", "server_conn"), ...addressParts(need(conn, "source_address", "server_conn"))]);
        conn.set("id", memoize(ctx.serverConnectionIds, key));
      }
      return f;
    },
  ],
  [
    "5",
    (f) => {
      f.set("version", 6);
      const [client, server] = clientAndServer(f);
      for (const conn of [client, server, viaOf(server)]) {
        if (!conn) continue;
        conn.set("tls_established", take(conn, "ssl_established", "connection"));
        conn.set("timestamp_tls_setup", take(conn, "timestamp_ssl_setup", "connection"));
      }
      return f;
    },
  ],
  [
    "6",
    (f) => {
      f.set("version", 7);
      needDict(f, "client_conn", "flow").set("tls_extensions", null);
      return f;
    },
  ],
  [
    "7",
    (f) => {
      f.set("version", 8);
      for (const m of ["request", "response"]) dictOrNull(f, m, "flow", true)?.set("trailers", null);
      return f;
    },
  ],
  [
    "8",
    (f) => {
      f.set("version", 9);
      let requestReplay: TValue = false;
      if (f.has("request")) {
        const request = needDict(f, "request", "flow");
        take(request, "first_line_format", "request");
        request.set("authority", Buffer.alloc(0));
        requestReplay = pop(request, "is_replay", false);
      }
      let responseReplay: TValue = false;
      const response = dictOrNull(f, "response", "flow", true);
      if (response) responseReplay = pop(response, "is_replay", false);
      f.set("is_replay", truthy(requestReplay) ? "request" : truthy(responseReplay) ? "response" : null);
      return f;
    },
  ],
  [
    "9",
    (f) => {
      f.set("version", 10);
      const [client, server] = clientAndServer(f);
      client.set("sockname", ["", 0]);
      const clientCert = pop(client, "clientcert");
      client.set("certificate_list", truthy(clientCert) ? [clientCert] : []);
      addSansIoFields(client, "client_conn");
      const via = viaOf(server);
      serverSansIoFields(server);
      if (via) serverSansIoFields(via);
      return f;
    },
  ],
  [
    "10",
    (f) => {
      f.set("version", 11);
      const [client, server] = clientAndServer(f);
      const via = viaOf(server);
      renameAlpn(client, "client_conn");
      renameAlpn(server, "server_conn");
      if (via) renameAlpn(via, "server_conn.via");
      return f;
    },
  ],
  ["11", mergeWebsocketFlows],
  [
    "12",
    (f) => {
      f.set("version", 13);
      f.set("marked", truthy(need(f, "marked", "flow")) ? ":default:" : "");
      return f;
    },
  ],
  [
    "13",
    (f) => {
      f.set("version", 14);
      f.set("comment", "");
      // mitmproxy issue 4576: responses saved without timestamps
      const response = f.get("response");
      if (response instanceof Map && truthy(response) && need(response, "timestamp_start", "response") === null) {
        const requestEnd = need(needDict(f, "request", "flow"), "timestamp_end", "request");
        response.set("timestamp_start", requestEnd);
        response.set("timestamp_end", plusOne(requestEnd, "request.timestamp_end"));
      }
      return f;
    },
  ],
  [
    "14",
    (f) => {
      f.set("version", 15);
      const websocket = f.get("websocket");
      if (websocket instanceof Map && truthy(websocket)) {
        const messages = needList(websocket, "messages", "websocket");
        websocket.set(
          "messages",
          messages.map((m) => (Array.isArray(m) ? [...m, false] : m)),
        );
      }
      return f;
    },
  ],
  [
    "15",
    (f) => {
      f.set("version", 16);
      const source = f.has("request") ? needDict(f, "request", "flow") : needDict(f, "client_conn", "flow");
      f.set("timestamp_created", need(source, "timestamp_start", "flow"));
      return f;
    },
  ],
  [
    "16",
    (f) => {
      f.set("version", 17);
      f.delete("mode");
      return f;
    },
  ],
  [
    "17",
    (f) => {
      f.set("version", 18);
      needDict(f, "client_conn", "flow").set("proxy_mode", "regular");
      return f;
    },
  ],
  [
    "18",
    (f) => {
      f.set("version", 19);
      const [client, server] = clientAndServer(f);
      client.set("peername", pop(client, "address"));
      if ((client.get("timestamp_start") ?? null) === null) client.set("timestamp_start", new PyFloat(0));
      take(client, "tls_extensions", "client_conn");
      server.set("peername", pop(server, "ip_address"));
      server.set("sockname", pop(server, "source_address"));
      server.set("via", pop(server, "via2")); // the old always-null `via` is replaced
      for (const [conn, where] of [
        [client, "client_conn"],
        [server, "server_conn"],
      ] as const) {
        take(conn, "tls_established", where);
        conn.set("cipher", pop(conn, "cipher_name"));
        if (!conn.has("transport_protocol")) conn.set("transport_protocol", "tcp");
        for (const key of ["peername", "sockname", "address"]) decodeAddressHost(conn, key);
      }
      // 7.0 dev files stored `sni: true` for "use the address"
      if (need(server, "sni", "server_conn") === true) {
        const address = need(server, "address", "server_conn");
        if (!Array.isArray(address) || address.length === 0) throw schemaError("server_conn.address: expected a list");
        server.set("sni", address[0]!);
      }
      return f;
    },
  ],
  [
    "19",
    (f) => {
      f.set("version", 20);
      const [client, server] = clientAndServer(f);
      client.delete("state");
      server.delete("state");
      return f;
    },
  ],
  [
    "20",
    (f) => {
      f.set("version", 21);
      for (const conn of clientAndServer(f)) if (conn.get("tls_version") === "QUIC") conn.set("tls_version", "QUICv1");
      return f;
    },
  ],
]);

function memoize(table: Map<string, string>, key: string): string {
  let id = table.get(key);
  if (id === undefined) {
    id = randomUUID();
    table.set(key, id);
  }
  return id;
}

/** Every step by the version it upgrades from. */
export const UPGRADE_STEPS: ReadonlyMap<string, UpgradeStep> = new Map([...LEGACY_STEPS, ...INT_STEPS]);
