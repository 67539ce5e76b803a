/**
 * The base of every flow object (mitmproxy's `flow.Flow`): the fields all flow types share,
 * read from and written to a FlowState. Reading touches only what it needs: the top-level
 * dict is parsed shallowly, nested entries on first use, and the connections (the only part
 * whose shape differs between versions 17 and 21) promote the state to 21 first.
 */
import { FlowStateError } from "../errors.js";
import { randomUUID } from "node:crypto";
import type { FlowState } from "../format/flow-record.js";
import { MigrationContext, NEWEST_VERSION, migrateToNewest } from "../format/migrations/index.js";
import { decodeBackslashReplace } from "../format/migrations/values.js";
import { type TDict, type TValue, resolveDeep } from "../format/tnetstring.js";
import { type Address, Client, Server, addressOf } from "./connection.js";
import { DetachedState } from "../format/detached-state.js";
import { FlowError, type FlowErrorInit } from "./flow-error.js";
import { cloneValue, entryOf, isDict, strOf, strOrNull, toFloatValue, toNumber, toStateValue } from "./values.js";

/** The flow types mitmproxy records. */
export type FlowType = "http" | "tcp" | "udp" | "dns";

/** Who replayed a flow: mitmproxy sent the request again, or server replay supplied the response. */
export type ReplayKind = "request" | "response";

/** Where a state dict keeps its wrapper (a property, not a WeakMap: cheaper for the GC). */
const WRAPPER = Symbol("model wrapper");
type WrappedDict = TDict & { [WRAPPER]?: object };

/**
 * The object over a state dict, made once per dict: wrappers hold nothing but the dict,
 * so reusing them cannot go stale, and `flow.response === flow.response` holds.
 */
export function wrapDict<T extends object>(dict: TDict, cls: new (state: TDict) => T): T {
  const known = (dict as WrappedDict)[WRAPPER];
  if (known instanceof cls) return known;
  const made = new cls(dict);
  (dict as WrappedDict)[WRAPPER] = made;
  return made;
}

/** Makes `obj` the object handed out for its dict from now on (for wrappers made outside `wrapDict`). */
export function adoptWrapper<T extends object & { state: TDict }>(obj: T): T {
  (obj.state as WrappedDict)[WRAPPER] = obj;
  return obj;
}

/** Base class of HTTPFlow, TCPFlow, UDPFlow and DNSFlow. */
export abstract class Flow {
  /** @param state where the flow's data lives (a record read from a file, or a detached dict) */
  constructor(readonly state: FlowState) {}

  /** The flow type: `http`, `tcp`, `udp` or `dns`. */
  abstract get type(): FlowType;

  /** The top-level dict, in the state's current version (re-read each time: promotion replaces it). */
  protected topDict(): TDict {
    return this.state.top();
  }

  /** A top-level entry that must be a dict (or null when `nullable`). */
  protected dictAt(key: string): TDict | null {
    const v = this.state.entry(key);
    if (v === null || isDict(v)) return v;
    throw new FlowStateError("E_FLOW_SCHEMA", `flow ${key}: expected a dict, found ${typeof v}`);
  }

  /** A top-level entry that must be a list. */
  protected listAt(key: string): TValue[] {
    const v = this.state.entry(key);
    if (Array.isArray(v)) return v;
    throw new FlowStateError("E_FLOW_SCHEMA", `flow ${key}: expected a list, found ${v === null ? "null" : typeof v}`);
  }

  /** The flow's UUID. */
  get id(): string {
    return strOf(this.state.entry("id"));
  }

  set id(v: string) {
    this.topDict().set("id", String(v));
  }

  /** The recorded error (not an HTTP error response), or null. Assign `{msg, timestamp?}` or null. */
  get error(): FlowError | null {
    const e = this.dictAt("error");
    return e ? wrapDict(e, FlowError) : null;
  }

  set error(e: FlowError | FlowErrorInit | null) {
    this.topDict().set("error", e === null ? null : e instanceof FlowError ? e.state : FlowError.stateOf(e));
  }

  /** The client's connection (promotes the state to version 21). */
  get clientConn(): Client {
    return wrapDict(this.connection("client_conn"), Client);
  }

  /** The server connection (promotes the state to version 21); present even if none was made. */
  get serverConn(): Server {
    return wrapDict(this.connection("server_conn"), Server);
  }

  /**
   * Both connections for reading only: `clientConn` and `serverConn` of a version-21 state;
   * of an older one, copies migrated on their own, so that an export reading every flow's
   * connections does not promote (and so parse) whole flows. Changes to the copies are lost.
   */
  readConnections(): { client: Client; server: Server } {
    const state = this.state;
    if (state.version === NEWEST_VERSION || !state.newestConnections)
      return { client: this.clientConn, server: this.serverConn };
    const { client, server } = state.newestConnections();
    return { client: new Client(client), server: new Server(server) };
  }

  /**
   * The client's address (`clientConn.peername`), read without promoting the state: listings
   * and `~src` read it for every flow, and versions 17 and 18 only call it `address`.
   */
  get clientPeername(): Address | null {
    return this.storedAddress("client_conn", this.state.version >= 19 ? "peername" : "address");
  }

  /** The server address the flow was for (`serverConn.address`), read without promoting the state. */
  get serverAddress(): Address | null {
    return this.storedAddress("server_conn", "address");
  }

  /** An address entry of a connection in the state's own version (17 to 21), its host as 19 on decodes it. */
  private storedAddress(connection: string, key: string): Address | null {
    const conn = this.state.entry(connection);
    if (!isDict(conn)) throw new FlowStateError("E_FLOW_SCHEMA", `flow ${connection}: expected a dict`);
    const v = entryOf(conn, key);
    if (Array.isArray(v) && v[0] instanceof Uint8Array) return addressOf([decodeBackslashReplace(v[0]), ...v.slice(1)]);
    return addressOf(v);
  }

  private connection(key: string): TDict {
    this.state.promote();
    const v = this.state.entry(key);
    if (!isDict(v)) throw new FlowStateError("E_FLOW_SCHEMA", `flow ${key}: expected a dict`);
    return v;
  }

  /** True when the flow was paused by the proxy. */
  get intercepted(): boolean {
    return this.state.entry("intercepted") === true;
  }

  set intercepted(v: boolean) {
    this.topDict().set("intercepted", Boolean(v));
  }

  /** The marker (`:default:`, an emoji name, one character), or "" when not marked. */
  get marked(): string {
    return strOf(this.state.entry("marked"));
  }

  set marked(v: string) {
    this.topDict().set("marked", String(v));
  }

  /** Free-form data kept with the flow: the state's own dict (live). Assign a Map or a plain object to replace it. */
  get metadata(): Map<string, TValue> {
    const m = this.dictAt("metadata");
    if (m) return m as Map<string, TValue>;
    const fresh: TDict = new Map();
    this.topDict().set("metadata", fresh);
    return fresh as Map<string, TValue>;
  }

  set metadata(v: Map<string, unknown> | Readonly<Record<string, unknown>>) {
    this.topDict().set("metadata", toStateValue(v instanceof Map ? v : { ...v }));
  }

  /** The user's comment, "" for none. */
  get comment(): string {
    return strOf(this.state.entry("comment"));
  }

  set comment(v: string) {
    this.topDict().set("comment", String(v));
  }

  /** `request` or `response` when the flow was replayed, else null. */
  get isReplay(): ReplayKind | null {
    return strOrNull(this.state.entry("is_replay")) as ReplayKind | null;
  }

  set isReplay(v: ReplayKind | null) {
    this.topDict().set("is_replay", v);
  }

  /** When the flow was created (Unix seconds); unlike timestampStart, replay does not change it. */
  get timestampCreated(): number {
    return toNumber(this.state.entry("timestamp_created")) ?? 0;
  }

  set timestampCreated(t: number) {
    this.topDict().set("timestamp_created", toFloatValue(t));
  }

  /** When the flow started: the client connection's start (HTTP flows: the request's). */
  get timestampStart(): number {
    return this.clientConn.timestampStart ?? 0;
  }

  /**
   * A deep copy with a new id, as a new version-21 flow of the same class held in memory
   * (connections keep their ids, as in mitmproxy). The original is left untouched.
   */
  copy(): this {
    const state = this.state;
    let dict = cloneValue(resolveDeep(state.top())) as TDict;
    if (state.version !== NEWEST_VERSION) dict = migrateToNewest(dict, new MigrationContext());
    dict.set("id", randomUUID());
    const cls = this.constructor as new (state: FlowState) => this;
    return new cls(new DetachedState(dict));
  }
}
