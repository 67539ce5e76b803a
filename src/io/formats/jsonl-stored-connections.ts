/**
 * The `client_conn` and `server_conn` of a JSON line read straight from a flow's stored
 * connection dicts, in whichever version (17 to 21) the file has them: the same fields
 * `Flow.readConnections` gives, without migrating copies of the dicts to version 21 first
 * (which decoded every entry, made three Maps per connection and took a quarter of the
 * writer's time on a v17 file). Only a flow read from a file whose connections nothing has
 * read yet is written this way; anything else, or anything the migration would refuse or
 * change in a way not followed here, is left to the general path (`write` says false).
 */
import { CLIENT_V21, SERVER_V21 } from "../../format/migrations/key-orders.js";
import { decodeBackslashReplace } from "../../format/migrations/values.js";
import { DictIndex, RawElement, type TValue, resolveDeep, storedEntry } from "../../format/tnetstring.js";
import type { Flow } from "../../model/index.js";
import { addressOf } from "../../model/connection.js";
import { bytesOf, strOf, strOrNull, toNumber } from "../../model/values.js";
import { address } from "./jsonl-writer.js";
import { type ConnectionLine, writeConnectionLine } from "./jsonl-connection.js";
import type { JsonTextBytes } from "./json-text-bytes.js";

const DICT_TAG = 0x7d;
const NEWEST = 21;

/** The fields read, as numbers: what the line shows, and what the steps to 21 take or need. */
const FIELDS: readonly string[] = [...new Set([...CLIENT_V21, ...SERVER_V21, "tls_extensions", "tls_established"])];
const field = (name: string): number => FIELDS.indexOf(name);

/** A table of stored key → field number for one side's `fields`: their v21 names, but where `renamed` says otherwise. */
function storedNames(fields: readonly string[], renamed: Readonly<Record<string, string>> = {}): ReadonlyMap<string, number> {
  const names = new Map<string, number>();
  for (const name of fields) names.set(Object.hasOwn(renamed, name) ? renamed[name]! : name, field(name));
  return names;
}

const CLIENT_FIELDS = [...CLIENT_V21, "tls_extensions", "tls_established"];
const SERVER_FIELDS = [...SERVER_V21, "tls_established"];
/** Where each side keeps its fields in versions 17 and 18 (the 18 → 19 step renames them), and from 19 on. */
const CLIENT_V18_NAMES = storedNames(CLIENT_FIELDS, { peername: "address", cipher: "cipher_name" });
const SERVER_V18_NAMES = storedNames(SERVER_FIELDS, { peername: "ip_address", sockname: "source_address", cipher: "cipher_name", via: "via2" });
const CLIENT_V21_NAMES = storedNames(CLIENT_FIELDS);
const SERVER_V21_NAMES = storedNames(SERVER_FIELDS);

/**
 * The fields a version 17 or 18 connection must have for the steps to 21 to accept it: those
 * the steps take, and those of the v21 order (`ordered`) that no step sets. (Versions 19 and
 * 20 must have every v21 field.)
 */
const CLIENT_V17_NEEDS = [
  "tls_extensions",
  "tls_established",
  ...CLIENT_V21.filter((k) => !["peername", "cipher", "timestamp_start", "transport_protocol", "proxy_mode"].includes(k)),
].map(field);
const CLIENT_V18_NEEDS = [...CLIENT_V17_NEEDS, field("proxy_mode")];
const SERVER_V18_NEEDS = [
  "tls_established",
  ...SERVER_V21.filter((k) => !["peername", "sockname", "cipher", "transport_protocol", "via"].includes(k)),
].map(field);
const CLIENT_V21_NEEDS = CLIENT_V21.map(field);
const SERVER_V21_NEEDS = SERVER_V21.map(field);

const PEERNAME = field("peername");
const SOCKNAME = field("sockname");
const ADDRESS = field("address");
const TLS = field("tls");
const TLS_VERSION = field("tls_version");
const SNI = field("sni");
const ALPN = field("alpn");
const TIMESTAMP_START = field("timestamp_start");
const TIMESTAMP_END = field("timestamp_end");
const ID = field("id");
const TRANSPORT_PROTOCOL = field("transport_protocol");
const ERROR = field("error");
const CIPHER = field("cipher");
const CIPHER_LIST = field("cipher_list");
const ALPN_OFFERS = field("alpn_offers");
const CERTIFICATE_LIST = field("certificate_list");
const TIMESTAMP_TLS_SETUP = field("timestamp_tls_setup");
const TIMESTAMP_TCP_SETUP = field("timestamp_tcp_setup");
const PROXY_MODE = field("proxy_mode");

/** The most entries a connection dict read this way may have (mitmproxy's have about 20). */
const MAX_ENTRIES = 64;

/** A connection dict as stored in a version 17 to 21 flow, its fields found in one pass over its entries. */
class StoredConnection {
  private index!: DictIndex;
  private version = 0;
  /** per field: the number of the entry that holds it (the last, as a decoded dict keeps it), or -1 */
  private readonly entryOf = new Int8Array(FIELDS.length);
  /** per entry: 1 its key is short text, 2 its value was decoded */
  private readonly seen = new Uint8Array(MAX_ENTRIES);
  /** per entry of the dict read before (with `lastNames`): its key when short text, and that key's field (-1: none) */
  private readonly lastKeys: (string | undefined)[] = new Array<string | undefined>(MAX_ENTRIES).fill(undefined);
  private readonly lastFields = new Int8Array(MAX_ENTRIES);
  private lastNames: ReadonlyMap<string, number> | null = null;

  /** Reads `raw` (a version `version` connection, keys named as `names` says); false for an unusual one. */
  read(raw: RawElement, version: number, names: ReadonlyMap<string, number>): boolean {
    const index = (this.index = new DictIndex(raw.source, raw.start, raw.end));
    this.version = version;
    const n = index.length;
    if (n > MAX_ENTRIES) return false;
    const { entryOf, seen, lastKeys, lastFields } = this;
    entryOf.fill(-1);
    // the keys of the dict read last time, by position: a file's flows are written by one
    // mitmproxy, so each key is nearly always where it was in the flow before
    if (names !== this.lastNames) {
      lastKeys.fill(undefined);
      this.lastNames = names;
    }
    for (let i = 0; i < n; i++) {
      const last = lastKeys[i];
      let f: number;
      if (last !== undefined && index.textKeyIs(i, last)) f = lastFields[i]!;
      else {
        const key = index.shortTextKeyAt(i);
        lastKeys[i] = key;
        f = lastFields[i] = key === undefined ? -1 : (names.get(key) ?? -1);
      }
      seen[i] = lastKeys[i] === undefined ? 0 : 1;
      if (f >= 0) entryOf[f] = i;
    }
    return true;
  }

  /** True when every field of `fields` is stored. */
  hasAll(fields: readonly number[]): boolean {
    for (const f of fields) if (this.entryOf[f]! < 0) return false;
    return true;
  }

  /** The stored value of field `f` (undefined when absent). */
  get(f: number): TValue | undefined {
    const i = this.entryOf[f]!;
    if (i < 0) return undefined;
    this.seen[i] |= 2;
    return resolveDeep(this.index.valueAt(i));
  }

  /** An address field as the line writes it: 18 → 19 decodes a bytes host, backslash-escaped. */
  address(f: number): string | null {
    const v = this.get(f);
    if (this.version <= 18 && Array.isArray(v) && v.length > 0 && v[0] instanceof Uint8Array)
      return address(addressOf([decodeBackslashReplace(v[0]), ...v.slice(1)]));
    return address(addressOf(v));
  }

  /**
   * Decodes every entry not read yet, as migrating the dict does (it decodes it whole), so
   * that damage anywhere in it is met here too, and the general path names it.
   */
  decodeRest(): void {
    const { index, seen } = this;
    for (let i = 0; i < index.length; i++) {
      if (!(seen[i]! & 1)) index.keyAt(i);
      if (!(seen[i]! & 2)) resolveDeep(index.valueAt(i));
    }
  }
}

/** Writes the two connections of a JSON line from the stored dicts, when that gives what the general path gives. */
export class StoredConnectionsWriter {
  private readonly client = new StoredConnection();
  private readonly server = new StoredConnection();

  /**
   * Writes the client's connection line as the only text of `client` and the server's as that
   * of `server`; false (with nothing to keep) when the flow is not one this can write exactly,
   * or when it met damage: the general path then writes it, or names the damage.
   */
  write(flow: Flow, client: JsonTextBytes, server: JsonTextBytes): boolean {
    const state = flow.state;
    const version = state.version;
    if (version < 17 || version > NEWEST) return false;
    const top = state.top();
    const clientRaw = storedEntry(top, "client_conn");
    const serverRaw = storedEntry(top, "server_conn");
    if (!isStoredDict(clientRaw) || !isStoredDict(serverRaw)) return false;
    const c = this.client;
    const s = this.server;
    try {
      const old = version <= 18;
      if (!c.read(clientRaw, version, old ? CLIENT_V18_NAMES : CLIENT_V21_NAMES)) return false;
      if (!s.read(serverRaw, version, old ? SERVER_V18_NAMES : SERVER_V21_NAMES)) return false;
      if (version < NEWEST) {
        const clientNeeds = version === 17 ? CLIENT_V17_NEEDS : old ? CLIENT_V18_NEEDS : CLIENT_V21_NEEDS;
        if (!c.hasAll(clientNeeds) || !s.hasAll(old ? SERVER_V18_NEEDS : SERVER_V21_NEEDS)) return false;
      }
      const clientLine = connectionLine(c, version, false);
      const serverLine = connectionLine(s, version, true);
      if (version < NEWEST) {
        c.decodeRest();
        s.decodeRest();
      }
      writeConnectionLine(client, clientLine);
      writeConnectionLine(server, serverLine);
      return true;
    } catch {
      return false; // damage: the general path meets it again and names it
    }
  }
}

/** One connection's line from its stored fields: the conversions of the Client and Server getters, and what the steps to 21 change. */
function connectionLine(conn: StoredConnection, version: number, isServer: boolean): ConnectionLine {
  const storedTlsVersion = conn.get(TLS_VERSION);
  const alpn = conn.get(ALPN);
  const ciphers = conn.get(CIPHER_LIST);
  const offers = conn.get(ALPN_OFFERS);
  const certificates = conn.get(CERTIFICATE_LIST);
  const start = toNumber(conn.get(TIMESTAMP_START));
  return {
    isServer,
    address: conn.address(isServer ? ADDRESS : PEERNAME),
    peer: isServer ? conn.address(PEERNAME) : null,
    tls: conn.get(TLS) === true,
    // 20 → 21 renamed QUIC's version
    tlsVersion: version < NEWEST && storedTlsVersion === "QUIC" ? "QUICv1" : strOrNull(storedTlsVersion),
    sni: strOrNull(conn.get(SNI)),
    alpn: alpn === null || alpn === undefined ? null : bytesOf(alpn).toString("latin1"),
    // 18 → 19 gives a client without a start the start 0
    timestampStart: start === null && !isServer && version <= 18 ? 0 : start,
    timestampEnd: toNumber(conn.get(TIMESTAMP_END)),
    id: strOf(conn.get(ID)),
    sockname: conn.address(SOCKNAME),
    transportProtocol: strOf(conn.get(TRANSPORT_PROTOCOL)) || "tcp",
    error: strOrNull(conn.get(ERROR)),
    cipher: strOrNull(conn.get(CIPHER)),
    cipherList: Array.isArray(ciphers) ? ciphers.map(strOf) : [],
    alpnOffers: Array.isArray(offers) ? offers.map((a) => bytesOf(a).toString("latin1")) : [],
    certificateList: Array.isArray(certificates) ? certificates.map((c) => bytesOf(c).toString("base64")) : [],
    timestampTlsSetup: toNumber(conn.get(TIMESTAMP_TLS_SETUP)),
    timestampTcpSetup: isServer ? toNumber(conn.get(TIMESTAMP_TCP_SETUP)) : null,
    // 17 → 18 sets the proxy mode
    proxyMode: isServer ? "" : version === 17 ? "regular" : strOf(conn.get(PROXY_MODE)) || "regular",
  };
}

function isStoredDict(v: TValue | undefined): v is RawElement {
  return v instanceof RawElement && v.source[v.end - 1] === DICT_TAG;
}
