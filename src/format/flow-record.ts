/**
 * A flow as read from a file: its original bytes, the version and type peeked from them,
 * and its state (migrated to the newest format) parsed only when something asks for it.
 */
import { FlowReadError, FlowStateError } from "../errors.js";
import { type RawFlow } from "./mitm-stream.js";
import { type MigrationContext, NEWEST_VERSION, migrateToNewest, upgradeConnections } from "./migrations/index.js";
import {
  DictIndex,
  IndexedDict,
  type IndexedDictOptions,
  RawElement,
  type TDict,
  type TValue,
  TnetstringError,
  decode,
  decodeRaw,
  resolve,
  resolveDeep,
  storedEntry,
} from "./tnetstring.js";

/** A format version as stored: an int from 4 on, a release list (`[0, 11, 3]`) before. */
export type StoredVersion = number | number[];

const DICT_TAG = 0x7d;

/**
 * Reads the `version` and `type` entries of an indexed top-level flow dict without parsing
 * the rest: the cheap look that lets an unchanged flow be copied through untouched. Keys
 * may be bytes (the oldest formats).
 */
export function peekFlowHeader(index: DictIndex): { version: StoredVersion | null; type: string | null } {
  let version: StoredVersion | null = null;
  let type: string | null = null;
  const v = index.find("version", true);
  if (v >= 0) {
    // an int almost always: read it without the general decoder (see DictIndex.simpleValueAt)
    const simple = index.simpleValueAt(v);
    const value = typeof simple === "number" ? simple : resolve(index.valueAt(v));
    if (typeof value === "number") version = value;
    else if (Array.isArray(value) && value.every((x) => typeof x === "number")) version = value as number[];
  }
  const t = index.find("type", true);
  if (t >= 0) {
    const simple = index.simpleValueAt(t);
    const value = typeof simple === "string" ? simple : index.valueAt(t);
    if (typeof value === "string") type = value;
    else if (Buffer.isBuffer(value)) type = value.toString("utf8");
  }
  return { version, type };
}

/**
 * What the model layer holds a flow by: its top-level dict, parsed shallowly (nested
 * containers stay RawElements until read), in `version`'s shape. Versions 17 to 21 differ
 * only in the connections (and `backup`), so request, response, websocket, messages, error,
 * metadata and the scalar entries can be read and changed in the flow's own version; the
 * connections are only valid after `promote()` has migrated the flow to 21.
 */
export interface FlowState {
  /** the top-level dict (read single entries with `entry`, which parses them as the model needs) */
  top(): TDict;
  /** a top-level entry for reading, parsed as `resolveEntry` parses it (null when absent) */
  entry(key: string): TValue;
  /** the format version `top()` is in right now */
  readonly version: number;
  /** migrates the flow to version 21 in place; entries read before keep their identity */
  promote(): TDict;
  /**
   * The connections as version 21 has them, for reading only: copies migrated on their
   * own when the state is older (promoting parses the whole flow). Absent: call `promote`.
   */
  newestConnections?(): { client: TDict; server: TDict };
}

/** The versions whose request/response/websocket/messages entries have the v21 shape. */
const NATIVE_MIN = 17;

/** Entries that are identical in versions 17 to 21 (their objects survive promotion). */
const VERSION_INVARIANT = ["request", "response", "websocket", "messages", "error", "metadata"];

/**
 * The parts the model reads entry by entry, so they are IndexedDicts: a listing reads a
 * request's method and path and never parses its headers. Metadata, error and message
 * lists are handed out whole, so they are parsed whole.
 */
const PARSED_SHALLOW = new Set(["request", "response", "websocket", "client_conn", "server_conn"]);

/**
 * A top-level entry's value as read: dicts the model reads entry by entry one level deep
 * (their damage reported through `nested`), the rest whole.
 */
function parseEntry(key: string, raw: RawElement, nested?: IndexedDictOptions): TValue {
  return PARSED_SHALLOW.has(key) && raw.source[raw.end - 1] === DICT_TAG
    ? new IndexedDict(new DictIndex(raw.source, raw.start, raw.end), nested)
    : decodeRaw(raw);
}

/** Reads a top-level entry, parsing it in place the first time. */
export function resolveEntry(top: TDict, key: string, nested?: IndexedDictOptions): TValue {
  const v = top.get(key);
  if (v instanceof RawElement) {
    const parsed = parseEntry(key, v, nested);
    top.set(key, parsed);
    return parsed;
  }
  return v === undefined ? null : v;
}

/** How a flow's nested dicts read: damage found in them is named with the flow's file, offset and number. */
class NestedReading implements IndexedDictOptions {
  constructor(private readonly record: FlowRecord) {}

  failure(e: unknown): Error {
    return this.record.error(e);
  }
}

/** Parses whatever a shallowly parsed dict still holds raw (migrations need whole values). */
function parseRest(dict: TDict): void {
  for (const [k, v] of dict) if (v instanceof RawElement) dict.set(k, resolveDeep(v));
}

/** Versions with a migration path to 21: [0,11] … [3,0] (release lists), then 4 … 21. */
export function isReadableVersion(v: StoredVersion | null): boolean {
  if (typeof v === "number") return Number.isInteger(v) && v >= 4 && v <= NEWEST_VERSION;
  if (!Array.isArray(v) || v.length < 2) return false;
  const [major, minor] = v as [number, number];
  return (major === 0 && minor >= 11 && minor <= 19) || (minor === 0 && major >= 1 && major <= 3);
}

/** A stored version as people write it: `17`, or `0.11` for a release list. */
export function formatVersion(v: StoredVersion | null): string {
  if (v === null) return "(none)";
  return Array.isArray(v) ? v.slice(0, 2).join(".") : String(v);
}

/**
 * One flow read from a file. A flow in a version the model reads natively (17 to 21) is
 * read through the index of its top-level entries (an IndexedDict): what is never read is
 * never parsed, and is written back as it stands.
 */
export class FlowRecord implements FlowState, IndexedDictOptions {
  readonly storedVersion: StoredVersion | null;
  readonly type: string | null;
  /** where the top-level entries are in the bytes */
  private readonly index: DictIndex;
  private dict: TDict | undefined;
  private dictVersion = 0;
  private nested: NestedReading | undefined;

  constructor(
    readonly raw: RawFlow,
    readonly file: string,
    private readonly migrations: MigrationContext,
    /** a record over the same bytes whose index and header this one shares (see readingCopy) */
    like?: FlowRecord,
  ) {
    if (like) {
      this.index = like.index;
      this.storedVersion = like.storedVersion;
      this.type = like.type;
      return;
    }
    try {
      this.index = new DictIndex(raw.bytes);
      const head = peekFlowHeader(this.index);
      this.storedVersion = head.version;
      this.type = head.type;
      if (!isReadableVersion(head.version))
        throw new FlowStateError(
          "E_FLOW_VERSION",
          `cannot read files with flow format version ${formatVersion(head.version)}`,
        );
    } catch (e) {
      throw this.error(e);
    }
  }

  /**
   * A second record over the same bytes, sharing this one's index, for reading only (a
   * filter's test): what is read through it leaves this record untouched, so that a flow
   * read at the target version is still written as the bytes it was read from.
   */
  readingCopy(): FlowRecord {
    return new FlowRecord(this.raw, this.file, this.migrations, this);
  }

  /** True once anything was read or changed: then the flow is written from its state, not its bytes. */
  get touched(): boolean {
    if (this.dict === undefined) return false;
    const unfilled = this.dict instanceof IndexedDict ? this.dict.unfilled : null;
    return unfilled === null || unfilled.read.size > 0 || this.dictVersion !== this.storedVersion;
  }

  get version(): number {
    if (this.isNative && this.dictVersion === 0) return this.storedVersion as number;
    this.top();
    return this.dictVersion;
  }

  /**
   * Stored in a version whose top-level dict the model reads as it is (17 to 21). Older
   * flows are migrated as a whole, with state shared across the flows of a file.
   */
  get isNative(): boolean {
    const v = this.storedVersion;
    return typeof v === "number" && v >= NATIVE_MIN && v <= NEWEST_VERSION;
  }

  entry(key: string): TValue {
    const top = this.top();
    if (top instanceof IndexedDict) return top.get(key) ?? null; // damage is named by failure()
    try {
      return resolveEntry(top, key, (this.nested ??= new NestedReading(this)));
    } catch (e) {
      throw this.error(e);
    }
  }

  top(): TDict {
    if (this.dict) return this.dict;
    try {
      if (this.isNative) {
        // Read entry by entry through the index: a filter or a listing reads a few entries
        // of every flow and never makes (or pays for) the rest.
        this.dict = new IndexedDict(this.index, this);
        this.dictVersion = this.storedVersion as number;
      } else {
        this.dict = migrateToNewest(decode(this.raw.bytes) as TDict, this.migrations);
        this.dictVersion = NEWEST_VERSION;
      }
    } catch (e) {
      throw this.error(e);
    }
    return this.dict;
  }

  /** How the top-level dict makes an entry when it is first read (IndexedDictOptions). */
  parse(key: string, raw: RawElement): TValue {
    return parseEntry(key, raw, (this.nested ??= new NestedReading(this)));
  }

  /** How damage found while reading an entry is reported (IndexedDictOptions). */
  failure(e: unknown): Error {
    return this.error(e);
  }

  promote(): TDict {
    const top = this.top();
    if (this.dictVersion === NEWEST_VERSION) return top;
    try {
      const stored = (k: string): TValue | undefined => storedEntry(top, k);
      const kept = new Map(VERSION_INVARIANT.filter((k) => top.has(k)).map((k) => [k, stored(k)!]));
      // From 17 on, migrations change only the connections and the backup: parse just those.
      for (const key of ["client_conn", "server_conn", "backup"]) {
        const v = stored(key);
        if (v instanceof RawElement) top.set(key, resolveDeep(v));
        else if (v instanceof Map) parseRest(v); // read before (an address), one level deep
      }
      const migrated = migrateToNewest(top, this.migrations);
      // Keep the objects the model may already hold (and unparsed RawElements) in place.
      for (const [k, v] of kept) if (migrated.has(k)) migrated.set(k, v);
      this.dict = migrated;
      this.dictVersion = NEWEST_VERSION;
    } catch (e) {
      throw this.error(e);
    }
    return this.dict;
  }

  newestConnections(): { client: TDict; server: TDict } {
    const top = this.top();
    try {
      if (this.dictVersion !== NEWEST_VERSION) return upgradeConnections(top, this.dictVersion, this.migrations);
      const [client, server] = [this.entry("client_conn"), this.entry("server_conn")];
      if (!(client instanceof Map && server instanceof Map)) throw new TypeError("flow connections: expected dicts");
      return { client, server };
    } catch (e) {
      throw this.error(e);
    }
  }

  /** Turns a parse or migration failure into a FlowReadError that names file, offset and flow. */
  error(e: unknown): Error {
    if (e instanceof FlowReadError) return e;
    if (e instanceof TnetstringError)
      return new FlowReadError("E_FLOW_CORRUPT", this.file, this.raw.offset + e.offset, this.raw.index, e.message);
    if (e instanceof FlowStateError)
      return new FlowReadError(e.code, this.file, this.raw.offset, this.raw.index, e.message);
    // A well-formed tnetstring whose structure is not a flow's trips migrations up this way.
    if (e instanceof TypeError || e instanceof RangeError)
      return new FlowReadError(
        "E_FLOW_SCHEMA",
        this.file,
        this.raw.offset,
        this.raw.index,
        invalidFlowDetail(e),
      );
    return e instanceof Error ? e : new Error(String(e));
  }
}

/**
 * What a flow whose parts are not a flow's is said to be. Nesting deep enough to exhaust the
 * stack (a hostile file's lists within lists) is said to be that, not in the engine's words.
 */
export function invalidFlowDetail(e: Error): string {
  const stackExhausted = e instanceof RangeError && /call stack/i.test(e.message);
  return `not a valid flow: ${stackExhausted ? "nested too deeply to read" : e.message}`;
}
