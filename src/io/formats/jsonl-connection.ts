/**
 * A connection as its JSON line shows it: the fields, and the one place that writes them.
 * They come from the model's Client or Server, or straight from the stored dicts
 * (jsonl-stored-connections.ts).
 */
import type { Client, Server } from "../../model/index.js";
import type { JsonTextBytes } from "./json-text-bytes.js";
import { address } from "./jsonl-writer.js";

/**
 * The values of a connection's line (ConnectionJson), in the order the line has them; one
 * shape for both sides (what the other side has is left null or "", and not written).
 */
export interface ConnectionLine {
  isServer: boolean;
  /** client: its address; server: where the proxy connected */
  address: string | null;
  /** server only */
  peer: string | null;
  tls: boolean;
  tlsVersion: string | null;
  sni: string | null;
  alpn: string | null;
  timestampStart: number | null;
  timestampEnd: number | null;
  id: string;
  sockname: string | null;
  transportProtocol: string;
  error: string | null;
  cipher: string | null;
  cipherList: string[];
  alpnOffers: string[];
  certificateList: string[];
  timestampTlsSetup: number | null;
  /** server only */
  timestampTcpSetup: number | null;
  /** client only */
  proxyMode: string;
}

/** The line of a client connection (`server` null) or a server connection (`client` null), read from the model in the line's order. */
export function modelConnectionLine(client: Client | null, server: Server | null): ConnectionLine {
  const conn = (client ?? server)!;
  return {
    isServer: server !== null,
    address: address(server ? server.address : conn.peername),
    peer: server ? address(server.peername) : null,
    tls: conn.tls,
    tlsVersion: conn.tlsVersion,
    sni: conn.sni,
    alpn: latin1OrNull(conn.alpn),
    timestampStart: conn.timestampStart,
    timestampEnd: conn.timestampEnd,
    id: conn.id,
    sockname: address(conn.sockname),
    transportProtocol: conn.transportProtocol,
    error: conn.error,
    cipher: conn.cipher,
    cipherList: conn.cipherList,
    alpnOffers: conn.alpnOffers.map((a) => a.toString("latin1")),
    certificateList: conn.certificateList.map((c) => c.toString("base64")),
    timestampTlsSetup: conn.timestampTlsSetup,
    timestampTcpSetup: server ? server.timestampTcpSetup : null,
    proxyMode: client ? client.proxyMode : "",
  };
}

function latin1OrNull(b: Buffer | null): string | null {
  return b === null ? null : b.toString("latin1");
}

/** Writes `c` as the only text of `out`. */
export function writeConnectionLine(out: JsonTextBytes, c: ConnectionLine): void {
  out.reset();
  out.ascii('{"address":');
  out.nullableString(c.address);
  if (c.isServer) {
    out.ascii(',"peer":');
    out.nullableString(c.peer);
  }
  out.ascii(c.tls ? ',"tls":true,"tls_version":' : ',"tls":false,"tls_version":');
  out.nullableString(c.tlsVersion);
  out.ascii(',"sni":');
  out.nullableString(c.sni);
  out.ascii(',"alpn":');
  out.nullableString(c.alpn);
  out.ascii(',"timestamp_start":');
  out.nullableNumber(c.timestampStart);
  out.ascii(',"timestamp_end":');
  out.nullableNumber(c.timestampEnd);
  out.ascii(',"id":');
  out.string(c.id);
  out.ascii(',"sockname":');
  out.nullableString(c.sockname);
  out.ascii(',"transport_protocol":');
  out.string(c.transportProtocol);
  out.ascii(',"error":');
  out.nullableString(c.error);
  out.ascii(',"cipher":');
  out.nullableString(c.cipher);
  out.ascii(',"cipher_list":');
  out.strings(c.cipherList);
  out.ascii(',"alpn_offers":');
  out.strings(c.alpnOffers);
  out.ascii(',"certificate_list":');
  out.strings(c.certificateList);
  out.ascii(',"timestamp_tls_setup":');
  out.nullableNumber(c.timestampTlsSetup);
  if (c.isServer) {
    out.ascii(',"timestamp_tcp_setup":');
    out.nullableNumber(c.timestampTcpSetup);
  } else {
    out.ascii(',"proxy_mode":');
    out.string(c.proxyMode);
  }
  out.ascii("}");
}
