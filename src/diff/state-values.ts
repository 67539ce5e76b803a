/**
 * Flow state values (tnetstring trees) as JSON, for comparing the free-form and rarely
 * changed parts of flows structurally: metadata, connections, DNS messages.
 */
import { isUtf8 } from "node:buffer";
import { PyFloat, RawElement, type TValue, resolve } from "../format/tnetstring.js";
import type { JsonValue } from "./changes.js";

/** A state value as JSON: bytes as UTF-8 text (or `0x…` hex when not UTF-8), dicts as objects, big ints as strings. */
export function stateToJson(v: TValue | undefined, leaveOut?: (key: string) => boolean): JsonValue {
  if (v === undefined) return null;
  if (v instanceof RawElement) return stateToJson(resolve(v), leaveOut);
  if (v === null || typeof v === "boolean" || typeof v === "number" || typeof v === "string") return v;
  if (v instanceof PyFloat) return v.value;
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Buffer.isBuffer(v)) return isUtf8(v) ? v.toString("utf8") : `0x${v.toString("hex")}`;
  if (Array.isArray(v)) return v.map((x) => stateToJson(x));
  const out: { [key: string]: JsonValue } = {};
  for (const [k, x] of v) {
    const key = Buffer.isBuffer(k) ? k.toString("utf8") : String(k);
    if (!leaveOut?.(key)) out[key] = stateToJson(x);
  }
  return out;
}
