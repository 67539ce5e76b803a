/**
 * Structural comparison of JSON values: object keys in any order, arrays position by
 * position, each difference named by its path (`$.items[3].name`).
 */
// In the model, below diff and replay: diff reports with it, replay explains misses with it.
import { type JsonValue, keyPath } from "./json-path.js";

/** One difference at a path; `a`/`b` left out where the path does not exist on that side. */
export interface JsonDifference {
  path: string;
  a?: JsonValue;
  b?: JsonValue;
}


function kindOf(v: JsonValue): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

/** Every difference between `a` and `b`, depth first, in A's key order then B's new keys; `root` names the whole value. */
export function diffJson(a: JsonValue, b: JsonValue, root = "$", out: JsonDifference[] = []): JsonDifference[] {
  const ka = kindOf(a);
  if (ka !== kindOf(b)) {
    out.push({ path: root, a, b });
  } else if (ka === "array") {
    const xa = a as JsonValue[];
    const xb = b as JsonValue[];
    const common = Math.min(xa.length, xb.length);
    for (let i = 0; i < common; i++) diffJson(xa[i]!, xb[i]!, `${root}[${i}]`, out);
    for (let i = common; i < xa.length; i++) out.push({ path: `${root}[${i}]`, a: xa[i]! });
    for (let i = common; i < xb.length; i++) out.push({ path: `${root}[${i}]`, b: xb[i]! });
  } else if (ka === "object") {
    const oa = a as { [key: string]: JsonValue };
    const ob = b as { [key: string]: JsonValue };
    for (const key of Object.keys(oa)) {
      if (Object.hasOwn(ob, key)) diffJson(oa[key]!, ob[key]!, keyPath(root, key), out);
      else out.push({ path: keyPath(root, key), a: oa[key]! });
    }
    for (const key of Object.keys(ob)) if (!Object.hasOwn(oa, key)) out.push({ path: keyPath(root, key), b: ob[key]! });
  } else if (a !== b) {
    out.push({ path: root, a, b });
  }
  return out;
}
