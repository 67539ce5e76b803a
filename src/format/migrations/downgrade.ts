/**
 * Version 21 → 20, 18 or 17: the inverse of the upgrade steps 17 → 18 … 20 → 21, written
 * with each version's exact key set and mitmproxy's insertion order for that version.
 * Values that do not change are shared with the input, which is never changed.
 *
 *   21 → 20: tls_version "QUICv1" → "QUIC"
 *   20 → 19: connections get `state` back (inferred, see connection-state.ts)
 *   19 → 18: peername/sockname/cipher/via back to address, ip_address, source_address,
 *            cipher_name, via2; tls_established and tls_extensions ([] as 9.0 writes) return;
 *            transport_protocol goes (9.0 did not save it)
 *   18 → 17: client `proxy_mode` goes; v17 has no UDP flows
 * Layout: v17/v18 put version and type after the type-specific keys and write `backup` last,
 * only when there is one; v20 has the v21 layout. DNS messages before v21 have `timestamp` first.
 * 8.1 and 9.0 coerce a few fields to float when saving (their "stateobject" types), so an int
 * there (newest test flows have them) is written as a float, as mitmdump 8.1.1 re-saves it.
 */
import { FlowStateError, WriteUnsupportedError } from "../../errors.js";
import { PyFloat, resolve, type TDict, type TValue } from "../tnetstring.js";
import { inferConnectionState } from "./connection-state.js";
import {
  CLIENT_V17,
  CLIENT_V21,
  DNS_MESSAGE_V17,
  FLOW_TYPE_KEYS,
  SERVER_V17,
  SERVER_V21,
  TOP_V17,
  TOP_V21,
  inKeyOrder,
} from "./key-orders.js";
import { dictOrNull, need, needDict, ordered } from "./values.js";

export type OlderVersion = 17 | 18 | 20;

export function downgradeFlow(flow: TDict, target: OlderVersion): TDict {
  const version = need(flow, "version", "flow");
  if (version !== 21)
    throw new FlowStateError("E_FLOW_VERSION", `only version 21 flows can be downgraded, not version ${String(version)}`);
  const type = need(flow, "type", "flow");
  const typeKeys = typeof type === "string" ? FLOW_TYPE_KEYS[type] : undefined;
  if (!typeKeys) throw new FlowStateError("E_FLOW_SCHEMA", `Unknown flow type: ${String(type)}`);
  if (type === "udp" && target === 17)
    throw new WriteUnsupportedError("UDP flows cannot be written as flow format version 17 (mitmproxy 8.1 has no UDP)");

  const client = needDict(flow, "client_conn", "flow");
  const server = needDict(flow, "server_conn", "flow");
  const typeSpecific = new Map<string, TValue>();
  for (const key of typeKeys) {
    if (type === "dns") {
      const message = key === "request" ? needDict(flow, key, "flow") : dictOrNull(flow, key, "flow");
      typeSpecific.set(key, message && dnsMessageBefore21(message, flow));
    } else typeSpecific.set(key, flowValue(flow, key));
  }
  const backupIn = dictOrNull(flow, "backup", "flow", true);
  const backup = backupIn && downgradeFlow(backupIn, target);

  const out: TDict = new Map();
  if (target === 20) {
    for (const key of TOP_V21) {
      if (key === "version") out.set(key, 20);
      else if (key === "client_conn") out.set(key, connectionV20(client, CLIENT_V21, "client_conn"));
      else if (key === "server_conn") out.set(key, connectionV20(server, SERVER_V21, "server_conn"));
      else if (key === "backup") out.set(key, backup);
      else out.set(key, flowValue(flow, key));
    }
    for (const [k, v] of typeSpecific) out.set(k, v);
    return out;
  }

  for (const key of TOP_V17) {
    if (key === "client_conn") out.set(key, clientBefore19(client, flow, target));
    else if (key === "server_conn") out.set(key, serverBefore19(server, flow));
    else if (key === "timestamp_created") out.set(key, asFloat(resolve(flowValue(flow, key))));
    else if (key === "error") out.set(key, withFloatField(flowValue(flow, key), "timestamp"));
    else out.set(key, flowValue(flow, key));
  }
  for (const [k, v] of typeSpecific) {
    if (k === "websocket") out.set(k, withFloatField(v, "timestamp_end"));
    else if (type === "dns") out.set(k, withFloatField(v, "timestamp"));
    else out.set(k, v);
  }
  out.set("version", target);
  out.set("type", type);
  if (backup) out.set("backup", backup);
  return out;
}

/** A top-level value passed on as it is (a RawElement stays unparsed). */
function flowValue(flow: TDict, key: string): TValue {
  if (!flow.has(key)) throw new FlowStateError("E_FLOW_SCHEMA", `flow: missing key "${key}"`);
  return flow.get(key)!;
}

/** An int where 8.1 / 9.0 would have written a float. */
function asFloat(v: TValue): TValue {
  if (typeof v === "number" && Number.isInteger(v)) return new PyFloat(v);
  if (typeof v === "bigint") return new PyFloat(Number(v));
  return v;
}

/** `dict` with `key` made a float, copied only when that changes something. */
function withFloatField(value: TValue, key: string): TValue {
  const dict = resolve(value);
  if (!(dict instanceof Map) || !dict.has(key)) return value;
  const before = dict.get(key)!;
  const after = asFloat(before);
  if (after === before) return value;
  return new Map(dict).set(key, after);
}

/** v21 allows only "QUICv1"; v20 and older wrote "QUIC". */
function tlsVersionBefore21(v: TValue): TValue {
  return v === "QUICv1" ? "QUIC" : v;
}

function connectionV20(conn: TDict, keys: readonly string[], where: string): TDict {
  const out = ordered(conn, keys, where);
  out.set("tls_version", tlsVersionBefore21(out.get("tls_version")!));
  return out;
}

function field(conn: TDict, key: string, where: string): TValue {
  return need(conn, key, where);
}

function clientBefore19(conn: TDict, flow: TDict, target: 17 | 18): TDict {
  const w = "client_conn";
  const out = inKeyOrder(CLIENT_V17, {
    address: field(conn, "peername", w),
    alpn: field(conn, "alpn", w),
    cipher_name: field(conn, "cipher", w),
    id: field(conn, "id", w),
    mitmcert: field(conn, "mitmcert", w),
    sni: field(conn, "sni", w),
    timestamp_end: field(conn, "timestamp_end", w),
    timestamp_start: field(conn, "timestamp_start", w),
    timestamp_tls_setup: field(conn, "timestamp_tls_setup", w),
    // 8.1 and 9.0 derive it from timestamp_tls_setup on save
    tls_established: field(conn, "timestamp_tls_setup", w) !== null,
    tls_extensions: [], // 8.1 and 9.0 always write []
    tls_version: tlsVersionBefore21(field(conn, "tls_version", w)),
    state: inferConnectionState(conn, "client", flow),
    sockname: field(conn, "sockname", w),
    error: field(conn, "error", w),
    tls: field(conn, "tls", w),
    certificate_list: field(conn, "certificate_list", w),
    alpn_offers: field(conn, "alpn_offers", w),
    cipher_list: field(conn, "cipher_list", w),
  });
  if (target === 18) out.set("proxy_mode", field(conn, "proxy_mode", w));
  return out;
}

function serverBefore19(conn: TDict, flow: TDict): TDict {
  const w = "server_conn";
  return inKeyOrder(SERVER_V17, {
    address: field(conn, "address", w),
    alpn: field(conn, "alpn", w),
    id: field(conn, "id", w),
    ip_address: field(conn, "peername", w),
    sni: field(conn, "sni", w),
    source_address: field(conn, "sockname", w),
    timestamp_end: field(conn, "timestamp_end", w),
    timestamp_start: field(conn, "timestamp_start", w),
    timestamp_tcp_setup: field(conn, "timestamp_tcp_setup", w),
    timestamp_tls_setup: field(conn, "timestamp_tls_setup", w),
    tls_established: field(conn, "timestamp_tls_setup", w) !== null,
    tls_version: tlsVersionBefore21(field(conn, "tls_version", w)),
    via: null, // the old nested upstream connection; 8.1 and 9.0 always write null
    state: inferConnectionState(conn, "server", flow),
    error: field(conn, "error", w),
    tls: field(conn, "tls", w),
    certificate_list: field(conn, "certificate_list", w),
    alpn_offers: field(conn, "alpn_offers", w),
    cipher_name: field(conn, "cipher", w),
    cipher_list: field(conn, "cipher_list", w),
    via2: field(conn, "via", w),
  });
}

/**
 * DNS messages up to v20 (and from mitmproxy 11, still v21) have `timestamp` first and
 * require it; mitmproxy 12 allows null, so a missing one falls back to the flow's creation time.
 */
function dnsMessageBefore21(message: TDict, flow: TDict): TDict {
  const out = ordered(message, DNS_MESSAGE_V17, "dns message");
  if (out.get("timestamp") === null) out.set("timestamp", resolve(flowValue(flow, "timestamp_created")));
  return out;
}
