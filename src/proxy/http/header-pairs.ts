/**
 * Raw header lists as the wire has them. Node hands headers over as latin1 strings
 * (`rawHeaders`: name, value, name, value…), so latin1 maps them to bytes one to one.
 */
import type { HeaderPair } from "../exchange.js";

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

function isRawName(field: string, lower: string): boolean {
  return field.length === lower.length && field.toLowerCase() === lower;
}

/** The first value of header `name` (case-insensitive), or null. */
export function headerValue(pairs: readonly HeaderPair[], name: string): string | null {
  const lower = name.toLowerCase();
  for (const [n, v] of pairs) if (isName(n, lower)) return v.toString("latin1");
  return null;
}

/** The first value of header `name` (case-insensitive) in a flat list, or null. */
export function rawHeaderValue(raw: readonly string[], name: string): string | null {
  const lower = name.toLowerCase();
  for (let i = 0; i + 1 < raw.length; i += 2) if (isRawName(raw[i]!, lower)) return raw[i + 1]!;
  return null;
}

/** The flat list without any header called `name`. */
export function withoutRawHeader(raw: readonly string[], name: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (!isRawName(raw[i]!, lower)) out.push(raw[i]!, raw[i + 1]!);
  return out;
}

/** The flat list with header `name` set to `value`: the first one replaced in place (case kept), others removed; appended if absent. */
export function withRawHeader(raw: readonly string[], name: string, value: string): string[] {
  const lower = name.toLowerCase();
  const out: string[] = [];
  let done = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (!isRawName(raw[i]!, lower)) out.push(raw[i]!, raw[i + 1]!);
    else if (!done) {
      out.push(raw[i]!, value);
      done = true;
    }
  }
  if (!done) out.push(name, value);
  return out;
}
