/**
 * Raw header lists as the wire has them. Node hands headers over as latin1 strings
 * (`rawHeaders`: name, value, name, value…), so latin1 maps them to bytes one to one.
 */
import type { HeaderPair } from "./exchange.js";

/** Node's flat `rawHeaders` as byte pairs, order and case kept. */
export function pairsOf(raw: readonly string[]): HeaderPair[] {
  const out: HeaderPair[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([Buffer.from(raw[i]!, "latin1"), Buffer.from(raw[i + 1]!, "latin1")]);
  return out;
}

/** Byte pairs as the flat latin1 list Node's `writeHead` and `request` accept. */
export function flatHeaders(pairs: readonly HeaderPair[]): string[] {
  const out: string[] = [];
  for (const [n, v] of pairs) out.push(n.toString("latin1"), v.toString("latin1"));
  return out;
}

function isName(field: Buffer, lower: string): boolean {
  return field.length === lower.length && field.toString("latin1").toLowerCase() === lower;
}

/** The first value of header `name` (case-insensitive), or null. */
export function headerValue(pairs: readonly HeaderPair[], name: string): string | null {
  const lower = name.toLowerCase();
  for (const [n, v] of pairs) if (isName(n, lower)) return v.toString("latin1");
  return null;
}

/** The pairs without any header called `name`. */
export function withoutHeader(pairs: readonly HeaderPair[], name: string): HeaderPair[] {
  const lower = name.toLowerCase();
  return pairs.filter(([n]) => !isName(n, lower));
}

/** The pairs with header `name` set to `value`: the first one replaced in place (case kept), others removed; appended if absent. */
export function withHeader(pairs: readonly HeaderPair[], name: string, value: string): HeaderPair[] {
  const lower = name.toLowerCase();
  const out: HeaderPair[] = [];
  let done = false;
  for (const [n, v] of pairs) {
    if (!isName(n, lower)) out.push([n, v]);
    else if (!done) {
      out.push([n, Buffer.from(value, "latin1")]);
      done = true;
    }
  }
  if (!done) out.push([Buffer.from(name, "latin1"), Buffer.from(value, "latin1")]);
  return out;
}
