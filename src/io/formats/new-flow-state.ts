/**
 * Version-21 flow dicts made from scratch, for readers of formats that hold less than a
 * flow (HAR, JSON Lines): every entry mitmproxy's schema has, in its key order, the ones
 * the format does not carry at mitmproxy's defaults.
 */
import { randomUUID } from "node:crypto";
import { CLIENT_V21, SERVER_V21, TOP_V21, inKeyOrder } from "../../format/migrations/key-orders.js";
import type { TDict, TValue } from "../../format/tnetstring.js";
import type { Address } from "../../model/index.js";
import { toFloatValue } from "../../model/values.js";

/** What a format may know of a connection. */
export interface ConnectionInit {
  id?: string;
  peername?: Address | null;
  sockname?: Address | null;
  tls?: boolean;
  tlsVersion?: string | null;
  sni?: string | null;
  alpn?: Buffer | null;
  timestampStart?: number | null;
  timestampEnd?: number | null;
  transportProtocol?: string;
  error?: string | null;
  cipher?: string | null;
  cipherList?: string[];
  alpnOffers?: Buffer[];
  certificateList?: Buffer[];
  timestampTlsSetup?: number | null;
}

const float = (t: number | null | undefined): TValue => (t === null || t === undefined ? null : toFloatValue(t));
const address = (a: Address | null | undefined): TValue => (a ? [a[0], a[1]] : null);

function connectionFields(c: ConnectionInit) {
  return {
    peername: address(c.peername),
    sockname: address(c.sockname),
    id: c.id ?? randomUUID(),
    transport_protocol: c.transportProtocol ?? "tcp",
    error: c.error ?? null,
    tls: c.tls ?? false,
    certificate_list: c.certificateList ?? [],
    alpn: c.alpn ?? null,
    alpn_offers: c.alpnOffers ?? [],
    cipher: c.cipher ?? null,
    cipher_list: c.cipherList ?? [],
    tls_version: c.tlsVersion ?? null,
    sni: c.sni ?? null,
    timestamp_start: float(c.timestampStart),
    timestamp_end: float(c.timestampEnd),
    timestamp_tls_setup: float(c.timestampTlsSetup),
  };
}

/** A `client_conn` dict. */
export function clientConnDict(c: ConnectionInit & { proxyMode?: string }): TDict {
  return inKeyOrder(CLIENT_V21, { ...connectionFields(c), mitmcert: null, proxy_mode: c.proxyMode ?? "regular" });
}

/** A `server_conn` dict; `address` is where the proxy was to connect. */
export function serverConnDict(
  c: ConnectionInit & { address: Address | null; timestampTcpSetup?: number | null },
): TDict {
  return inKeyOrder(SERVER_V21, {
    ...connectionFields(c),
    address: address(c.address),
    timestamp_tcp_setup: float(c.timestampTcpSetup),
    via: null,
  });
}

/** A top-level flow dict with its common entries; the type's own entries are to be added after. */
export function flowDict(
  type: "http" | "tcp" | "udp" | "dns",
  init: {
    id?: string;
    client: TDict;
    server: TDict;
    created: number;
    marked?: string;
    comment?: string;
    isReplay?: string | null;
    metadata?: TDict;
    error?: TDict | null;
  },
): TDict {
  return inKeyOrder(TOP_V21, {
    version: 21,
    type,
    id: init.id ?? randomUUID(),
    error: init.error ?? null,
    client_conn: init.client,
    server_conn: init.server,
    intercepted: false,
    is_replay: init.isReplay ?? null,
    marked: init.marked ?? "",
    metadata: init.metadata ?? new Map(),
    comment: init.comment ?? "",
    timestamp_created: toFloatValue(init.created),
    backup: null,
  });
}
