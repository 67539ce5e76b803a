/**
 * Reading and writing single values of a flow's state with the kinds the schema wants
 * (mitm-format.md §2): bytes fields hold Buffers, str fields strings, int fields integral
 * numbers, float fields numbers or PyFloat when integral (so `1.0^` is not written as `1#`).
 */
import { PyFloat, RawElement, type TDict, type TValue, resolve } from "../format/tnetstring.js";
import { decodeUtf8Escaped } from "./surrogate-escape.js";
import { asBuffer } from "./bytes.js";
import { FlowStateError } from "../errors.js";

/** A float field's value as the schema stores it: integral values as PyFloat. */
export function toFloatValue(x: number): number | PyFloat {
  if (typeof x !== "number") throw new TypeError(`expected a number, got ${typeof x}`);
  return Number.isInteger(x) ? new PyFloat(x) : x;
}

/** A numeric state value (int, float, PyFloat, bigint) as a JS number; null stays null. */
export function toNumber(v: TValue | undefined): number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return v;
  if (v instanceof PyFloat) return v.value;
  if (typeof v === "bigint") return Number(v);
  if (typeof v === "boolean") return v ? 1 : 0;
  throw new FlowStateError("E_FLOW_SCHEMA", `expected a number in the flow state, found ${describe(v)}`);
}

/** An int field's value, checked. */
export function toIntValue(x: number): number {
  if (!Number.isInteger(x)) throw new TypeError(`expected an integer, got ${String(x)}`);
  return x;
}

/** A bytes field read as a Buffer (a str is tolerated, as mitmproxy's loaders accept ASCII str). */
export function bytesOf(v: TValue | undefined): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (typeof v === "string") return Buffer.from(v, "utf8");
  if (v === null || v === undefined) return Buffer.alloc(0);
  throw new FlowStateError("E_FLOW_SCHEMA", `expected bytes in the flow state, found ${describe(v)}`);
}

/** A bytes field read as text, as mitmproxy's `.decode("utf-8", "surrogateescape")`. */
export function textOf(v: TValue | undefined): string {
  if (typeof v === "string") return v;
  return decodeUtf8Escaped(bytesOf(v));
}

/** A str field read as a string (bytes tolerated and decoded). */
export function strOf(v: TValue | undefined): string {
  if (typeof v === "string") return v;
  if (Buffer.isBuffer(v)) return decodeUtf8Escaped(v);
  if (v === null || v === undefined) return "";
  throw new FlowStateError("E_FLOW_SCHEMA", `expected a string in the flow state, found ${describe(v)}`);
}

/** A nullable str field. */
export function strOrNull(v: TValue | undefined): string | null {
  return v === null || v === undefined ? null : strOf(v);
}

/** True for a parsed dict. */
export function isDict(v: TValue | undefined): v is TDict {
  return v instanceof Map;
}

/**
 * Reads a nested entry of a dict, parsing it in place if it is still raw (an IndexedDict
 * parses its entries itself; a promoted or migrated dict may still hold RawElements).
 */
export function entryOf(dict: TDict, key: string): TValue {
  const v = dict.get(key);
  if (v instanceof RawElement) {
    const parsed = resolve(v);
    dict.set(key, parsed);
    return parsed;
  }
  return v === undefined ? null : v;
}

/** A dict entry that must be a list. */
export function listEntry(dict: TDict, key: string, where: string): TValue[] {
  const v = entryOf(dict, key);
  if (!Array.isArray(v)) throw new FlowStateError("E_FLOW_SCHEMA", `${where}: expected a list at "${key}", found ${describe(v)}`);
  return v;
}

/** A short name for a state value's kind, for error messages. */
export function describe(v: TValue | undefined): string {
  if (v === null) return "null";
  if (v === undefined) return "nothing";
  if (Buffer.isBuffer(v)) return "bytes";
  if (v instanceof PyFloat) return "float";
  if (v instanceof Map) return "dict";
  if (Array.isArray(v)) return "list";
  if (v instanceof RawElement) return "unparsed element";
  return typeof v;
}

/** A deep copy of a state value; Buffers are copied too, so the copy shares nothing. */
export function cloneValue<T extends TValue>(v: T): T {
  if (v === null || typeof v !== "object") return v;
  if (Buffer.isBuffer(v)) return Buffer.from(v) as T;
  if (v instanceof PyFloat) return new PyFloat(v.value) as T;
  if (v instanceof RawElement) return RawElement.of(Buffer.from(v.bytes)) as T;
  if (Array.isArray(v)) return v.map(cloneValue) as T;
  if (v instanceof Map) {
    const out: TDict = new Map();
    for (const [k, x] of v as TDict) out.set(Buffer.isBuffer(k) ? Buffer.from(k) : k, cloneValue(x));
    return out as T;
  }
  return v;
}

/** Current time as mitmproxy's `time.time()`: seconds since the epoch, as a float field. */
export function nowFloat(): number | PyFloat {
  return toFloatValue(Date.now() / 1000);
}

/**
 * A JS value as a state value, for free-form places like `metadata`: plain objects and
 * Maps become dicts, arrays lists, Uint8Arrays bytes; integral numbers are written as ints.
 */
export function toStateValue(v: unknown): TValue {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case "boolean":
    case "number":
    case "bigint":
    case "string":
      return v;
  }
  if (v instanceof PyFloat || v instanceof RawElement) return v;
  if (v instanceof Uint8Array) return asBuffer(v);
  if (Array.isArray(v)) return v.map(toStateValue);
  if (v instanceof Map) {
    const out: TDict = new Map();
    for (const [k, x] of v) out.set(k as string, toStateValue(x));
    return out;
  }
  if (typeof v === "object") {
    const out: TDict = new Map();
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out.set(k, toStateValue(x));
    return out;
  }
  throw new TypeError(`cannot store a ${typeof v} in a flow`);
}
