/**
 * Comparing header (or trailer) fields: names case-insensitive, repeated names kept, and
 * by default the order of fields ignored (only the values of each name, as a multiset).
 */
import type { HeaderField } from "../model/index.js";
import { decodeUtf8Escaped } from "../model/index.js";
import type { Change } from "./changes.js";

/** The values of one header name, in the order they appear, and how the name is spelled. */
interface NamedValues {
  name: string;
  values: string[];
}

function sameFields(a: readonly HeaderField[], b: readonly HeaderField[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!a[i]![0].equals(b[i]![0]) || !a[i]![1].equals(b[i]![1])) return false;
  return true;
}

function byName(fields: readonly HeaderField[], ignored: ReadonlySet<string>): Map<string, NamedValues> {
  const out = new Map<string, NamedValues>();
  for (const [n, v] of fields) {
    const name = decodeUtf8Escaped(n);
    const key = name.toLowerCase();
    if (ignored.has(key)) continue;
    const entry = out.get(key);
    if (entry) entry.values.push(decodeUtf8Escaped(v));
    else out.set(key, { name, values: [decodeUtf8Escaped(v)] });
  }
  return out;
}

function sameValues(a: readonly string[], b: readonly string[], ordered: boolean): boolean {
  if (a.length !== b.length) return false;
  if (a.length === 1) return a[0] === b[0];
  const xa = ordered ? a : [...a].sort();
  const xb = ordered ? b : [...b].sort();
  return xa.every((v, i) => v === xb[i]);
}

/**
 * The changes between two field lists (null = none recorded, same as empty): one per name
 * whose values differ, in A's order then B's new names. With `ordered`, repeated values
 * must also keep their order, and fields that only moved give one `header-order` change.
 */
export function diffHeaders(
  field: string,
  a: readonly HeaderField[] | null,
  b: readonly HeaderField[] | null,
  ignored: ReadonlySet<string>,
  ordered: boolean,
  out: Change[],
): void {
  const fa = a ?? [];
  const fb = b ?? [];
  if (sameFields(fa, fb)) return;
  const na = byName(fa, ignored);
  const nb = byName(fb, ignored);
  let changed = false;
  for (const [key, ea] of na) {
    const eb = nb.get(key);
    if (!eb) out.push({ kind: "header", field, name: ea.name, a: ea.values, b: [] });
    else if (!sameValues(ea.values, eb.values, ordered))
      out.push({ kind: "header", field, name: eb.name, a: ea.values, b: eb.values });
    else continue;
    changed = true;
  }
  for (const [key, eb] of nb) {
    if (na.has(key)) continue;
    out.push({ kind: "header", field, name: eb.name, a: [], b: eb.values });
    changed = true;
  }
  if (ordered && !changed) {
    const order = (fields: readonly HeaderField[]): string[] =>
      fields.map(([n]) => decodeUtf8Escaped(n)).filter((n) => !ignored.has(n.toLowerCase()));
    const oa = order(fa);
    const ob = order(fb);
    if (oa.some((n, i) => n.toLowerCase() !== ob[i]!.toLowerCase()))
      out.push({ kind: "header-order", field, a: oa, b: ob });
  }
}
