/**
 * Insertion orders of mitmproxy's flow dicts per format version (mitm-format.md §2.7,
 * checked against the files in testdata). The encoder writes dicts back to front, so
 * these orders decide the bytes.
 */
import type { TDict, TKey, TValue } from "../tnetstring.js";

/**
 * A dict with `keys` in their order: each of the keys must be given, so a dict made this
 * way cannot miss one.
 */
export function inKeyOrder<K extends string>(keys: readonly K[], values: Readonly<Record<K, TValue>>): TDict {
  return new Map<TKey, TValue>(keys.map((k) => [k, values[k]]));
}

/** v20 and v21 top level; the type-specific keys follow. */
export const TOP_V21 = [
  "version",
  "type",
  "id",
  "error",
  "client_conn",
  "server_conn",
  "intercepted",
  "is_replay",
  "marked",
  "metadata",
  "comment",
  "timestamp_created",
  "backup",
] as const;

/** v17 and v18 top level: the type-specific keys, then `version`, `type` and, only if there is one, `backup`. */
export const TOP_V17 = [
  "id",
  "error",
  "client_conn",
  "server_conn",
  "intercepted",
  "is_replay",
  "marked",
  "metadata",
  "comment",
  "timestamp_created",
] as const;

export const FLOW_TYPE_KEYS: Readonly<Record<string, readonly string[]>> = {
  http: ["request", "response", "websocket"],
  tcp: ["messages"],
  udp: ["messages"],
  dns: ["request", "response"],
};

const CONNECTION_V21 = [
  "peername",
  "sockname",
  "id",
  "transport_protocol",
  "error",
  "tls",
  "certificate_list",
  "alpn",
  "alpn_offers",
  "cipher",
  "cipher_list",
  "tls_version",
  "sni",
  "timestamp_start",
  "timestamp_end",
  "timestamp_tls_setup",
] as const;

/** v20 and v21 */
export const CLIENT_V21 = [...CONNECTION_V21, "mitmcert", "proxy_mode"] as const;
export const SERVER_V21 = [...CONNECTION_V21, "address", "timestamp_tcp_setup", "via"] as const;

/** v17; v18 appends `proxy_mode` */
export const CLIENT_V17 = [
  "address",
  "alpn",
  "cipher_name",
  "id",
  "mitmcert",
  "sni",
  "timestamp_end",
  "timestamp_start",
  "timestamp_tls_setup",
  "tls_established",
  "tls_extensions",
  "tls_version",
  "state",
  "sockname",
  "error",
  "tls",
  "certificate_list",
  "alpn_offers",
  "cipher_list",
] as const;

/** v17 and v18 */
export const SERVER_V17 = [
  "address",
  "alpn",
  "id",
  "ip_address",
  "sni",
  "source_address",
  "timestamp_end",
  "timestamp_start",
  "timestamp_tcp_setup",
  "timestamp_tls_setup",
  "tls_established",
  "tls_version",
  "via",
  "state",
  "error",
  "tls",
  "certificate_list",
  "alpn_offers",
  "cipher_name",
  "cipher_list",
  "via2",
] as const;

/** Same in every int version. */
export const REQUEST = [
  "http_version",
  "headers",
  "content",
  "trailers",
  "timestamp_start",
  "timestamp_end",
  "host",
  "port",
  "method",
  "scheme",
  "authority",
  "path",
] as const;
export const RESPONSE = [
  "http_version",
  "headers",
  "content",
  "trailers",
  "timestamp_start",
  "timestamp_end",
  "status_code",
  "reason",
] as const;
export const WEBSOCKET = ["messages", "closed_by_client", "close_code", "close_reason", "timestamp_end"] as const;
export const ERROR = ["msg", "timestamp"] as const;

const DNS_MESSAGE_FIELDS = [
  "id",
  "query",
  "op_code",
  "authoritative_answer",
  "truncation",
  "recursion_desired",
  "recursion_available",
  "reserved",
  "response_code",
  "questions",
  "answers",
  "authorities",
  "additionals",
] as const;
/** mitmproxy 12 moved `timestamp` to the end (and made it optional); 8.1 – 11 write it first. */
export const DNS_MESSAGE_V21 = [...DNS_MESSAGE_FIELDS, "timestamp"] as const;
export const DNS_MESSAGE_V17 = ["timestamp", ...DNS_MESSAGE_FIELDS] as const;
export const DNS_QUESTION = ["name", "type", "class_"] as const;
export const DNS_RESOURCE_RECORD = ["name", "type", "class_", "ttl", "data"] as const;
