/**
 * Small helpers for working on decoded flow dicts the way mitmproxy's Python code does:
 * required keys (KeyError there, E_FLOW_SCHEMA here), Python truthiness, and number
 * arithmetic that keeps the int/float kind of its input.
 */
import { FlowStateError } from "../../errors.js";
import { PyFloat, RawElement, resolve, type TDict, type TKey, type TValue } from "../tnetstring.js";

export function schemaError(message: string): FlowStateError {
  return new FlowStateError("E_FLOW_SCHEMA", message);
}

export function isDict(v: TValue | undefined): v is TDict {
  return v instanceof Map;
}

/** The value under a required key; a missing key is a schema error, as KeyError is in mitmproxy. */
export function need(dict: TDict, key: string, where: string): TValue {
  if (!dict.has(key)) throw schemaError(`${where}: missing key "${key}"`);
  return resolve(dict.get(key)!);
}

/** A required nested dict. */
export function needDict(dict: TDict, key: string, where: string): TDict {
  const v = need(dict, key, where);
  if (!isDict(v)) throw schemaError(`${where}.${key}: expected a dict, got ${describe(v)}`);
  return v;
}

/** A nested dict that may be null (or, with `optional`, absent). */
export function dictOrNull(dict: TDict, key: string, where: string, optional = false): TDict | null {
  if (optional && !dict.has(key)) return null;
  const v = need(dict, key, where);
  if (v === null || isDict(v)) return v;
  throw schemaError(`${where}.${key}: expected a dict or null, got ${describe(v)}`);
}

/** A required list. */
export function needList(dict: TDict, key: string, where: string): TValue[] {
  const v = need(dict, key, where);
  if (!Array.isArray(v)) throw schemaError(`${where}.${key}: expected a list, got ${describe(v)}`);
  return v;
}

/** Removes and returns a required key (Python's `d.pop(key)`). */
export function take(dict: TDict, key: string, where: string): TValue {
  const v = need(dict, key, where);
  dict.delete(key);
  return v;
}

/** Removes and returns a key, or `fallback` when it is absent (Python's `d.pop(key, fallback)`). */
export function pop(dict: TDict, key: string, fallback: TValue = null): TValue {
  if (!dict.has(key)) return fallback;
  const v = resolve(dict.get(key)!);
  dict.delete(key);
  return v;
}

/** Python's truthiness of a decoded value. */
export function truthy(v: TValue | undefined): boolean {
  if (v === undefined || v === null || v === false) return false;
  if (typeof v === "number") return v !== 0;
  if (typeof v === "bigint") return v !== 0n;
  if (v instanceof PyFloat) return v.value !== 0;
  if (typeof v === "string") return v.length > 0;
  if (v instanceof Uint8Array) return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (v instanceof Map) return v.size > 0;
  return true; // RawElement: a container we have not looked into; never empty in practice
}

/** `x + 1` keeping the kind of `x`: int stays int, float stays float (PyFloat when integral). */
export function plusOne(x: TValue, where: string): TValue {
  if (typeof x === "bigint") return x + 1n;
  if (x instanceof PyFloat) return new PyFloat(x.value + 1);
  if (typeof x === "number") {
    if (Number.isInteger(x)) return x + 1; // a plain integral number is a tnetstring int
    const r = x + 1;
    return Number.isInteger(r) ? new PyFloat(r) : r;
  }
  throw schemaError(`${where}: expected a number, got ${describe(x)}`);
}

/** Python's `str(bytes, "utf-8")` for the few values mitmproxy converts (strict UTF-8). */
export function bytesToStr(v: Uint8Array, where: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(v);
  } catch {
    throw schemaError(`${where}: bytes are not valid UTF-8`);
  }
}

/** `always_str`: str and null pass, bytes are decoded as UTF-8, anything else is left alone. */
export function alwaysStr(v: TValue, where: string): TValue {
  return v instanceof Uint8Array ? bytesToStr(v, where) : v;
}

/**
 * Python's `bytes.decode(encoding, errors="backslashreplace")` for UTF-8 and ASCII:
 * undecodable bytes become `\xNN`.
 */
export function decodeBackslashReplace(b: Uint8Array, ascii = false): string {
  let out = "";
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      out += String.fromCharCode(c);
      i++;
      continue;
    }
    const n = ascii ? 0 : utf8SequenceLength(b, i);
    if (n === 0) {
      out += "\\x" + c.toString(16).padStart(2, "0");
      i++;
    } else {
      out += Buffer.from(b.subarray(i, i + n)).toString("utf8");
      i += n;
    }
  }
  return out;
}

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the lead byte starts none. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0; // no surrogates
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/**
 * A deep copy of the containers (Maps, arrays); leaves and RawElements are shared (both are
 * never changed in place). Callers parse the parts their steps change before they copy:
 * old versions are decoded whole, and 17–20 have only their connections and backup parsed,
 * which is all the steps from 17 on touch.
 */
export function deepCopy<T extends TValue>(v: T): T {
  if (Array.isArray(v)) return v.map(deepCopy) as T;
  if (v instanceof Map) {
    const out: TDict = new Map();
    for (const [k, x] of v as TDict) out.set(k, deepCopy(x));
    return out as T;
  }
  return v;
}

/**
 * Turns bytes dict keys into str, in every dict at any depth: files from 0.11 to 0.16 have
 * bytes keys, and mitmproxy's convert_unicode does this at 0.17 → 0.18.
 */
export function stringifyKeys(v: TValue, where = "flow"): TValue {
  if (v instanceof RawElement) return stringifyKeys(resolve(v), where);
  if (Array.isArray(v)) return v.map((x) => stringifyKeys(x, where));
  if (v instanceof Map) {
    const out: TDict = new Map();
    for (const [k, x] of v) {
      const key: TKey = k instanceof Uint8Array ? bytesToStr(k, `${where} key`) : k;
      if (out.has(key)) out.delete(key); // as in a Python dict comprehension: the later entry wins
      out.set(key, stringifyKeys(x, `${where}.${String(key)}`));
    }
    return out;
  }
  return v;
}

/** Finds a key that may be str or, in old files, bytes. */
export function getLooseKey(dict: TDict, name: string): TValue | undefined {
  if (dict.has(name)) return dict.get(name);
  for (const [k, v] of dict) if (k instanceof Uint8Array && Buffer.from(k).toString("latin1") === name) return v;
  return undefined;
}

/** A short type name for error messages. */
export function describe(v: TValue | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (v instanceof PyFloat) return "float";
  if (v instanceof Uint8Array) return "bytes";
  if (v instanceof Map) return "dict";
  if (Array.isArray(v)) return "list";
  if (v instanceof RawElement) return "raw element";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  if (typeof v === "bigint") return "int";
  if (typeof v === "string") return "str";
  return typeof v;
}

/** A new dict holding `keys` of `src` in that order; a missing key is a schema error. */
export function ordered(src: TDict, keys: readonly string[], where: string): TDict {
  const out: TDict = new Map();
  for (const k of keys) {
    if (!src.has(k)) throw schemaError(`${where}: missing key "${k}"`);
    out.set(k, src.get(k)!);
  }
  return out;
}
