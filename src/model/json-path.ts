/**
 * Paths into JSON bodies as `reflow diff` prints them (`$.items[3].name`, `$["odd key"]`):
 * written by `diff`, read back by `replay --ignore-json-path`, where `[*]` and `.*` stand for
 * every element or member.
 */

/** A parsed JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** One step of a path: an object member, an array index, or `*` (any member or element). */
export type JsonPathStep = { key: string } | { index: number } | { any: true };

/** Why a path was refused, with the column (0-based) where reading it stopped. */
export class JsonPathError extends Error {
  constructor(
    readonly path: string,
    readonly column: number,
    why: string,
  ) {
    super(`invalid JSON path ${JSON.stringify(path)} at column ${column + 1}: ${why}`);
    this.name = "JsonPathError";
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const IDENTIFIER_AT = /[A-Za-z_$][A-Za-z0-9_$]*/y;

/** `path` extended by an object key: `.name`, or `["odd key"]` when the key is not an identifier. */
export function keyPath(path: string, key: string): string {
  return IDENTIFIER.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/** Reads a path in diff's notation: `$`, then `.name`, `["any key"]`, `[3]`, `[*]` or `.*` steps. */
export function parseJsonPath(path: string): JsonPathStep[] {
  if (path[0] !== "$") throw new JsonPathError(path, 0, "a path starts with $");
  const steps: JsonPathStep[] = [];
  let i = 1;
  while (i < path.length) {
    if (path[i] === ".") {
      if (path[i + 1] === "*") {
        steps.push({ any: true });
        i += 2;
        continue;
      }
      IDENTIFIER_AT.lastIndex = i + 1;
      const m = IDENTIFIER_AT.exec(path);
      if (!m) throw new JsonPathError(path, i + 1, 'expected a name after "." (use ["..."] for other keys)');
      steps.push({ key: m[0] });
      i += 1 + m[0].length;
    } else if (path[i] === "[") {
      const close = path[i + 1] === '"' ? closingQuote(path, i + 1) + 1 : path.indexOf("]", i);
      if (close <= i || path[close] !== "]") throw new JsonPathError(path, i, 'unclosed "["');
      const inner = path.slice(i + 1, close);
      if (inner === "*") steps.push({ any: true });
      else if (/^\d+$/.test(inner)) steps.push({ index: Number(inner) });
      else if (inner.startsWith('"')) steps.push({ key: JSON.parse(inner) as string });
      else throw new JsonPathError(path, i + 1, 'expected an index, * or a "quoted key" inside [ ]');
      i = close + 1;
    } else {
      throw new JsonPathError(path, i, 'expected "." or "["');
    }
  }
  return steps;
}

/** Where the JSON string that opens at `open` closes; -1 when it does not. */
function closingQuote(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}

/** Removes what each path points at (members dropped, elements set aside) from `value`, in place; returns it. */
export function omitJsonPaths(value: JsonValue, paths: readonly JsonPathStep[][]): JsonValue {
  for (const steps of paths) {
    if (steps.length === 0) return null; // `$` leaves nothing to compare
    omitAt(value, steps, 0);
  }
  return value;
}

function omitAt(value: JsonValue, steps: JsonPathStep[], at: number): void {
  if (value === null || typeof value !== "object") return;
  const step = steps[at]!;
  const last = at === steps.length - 1;
  if (Array.isArray(value)) {
    const indexes = "any" in step ? value.map((_, i) => i) : "index" in step && step.index < value.length ? [step.index] : [];
    // An element is blanked, not spliced out, so the positions of the others stay as recorded.
    for (const i of indexes) if (last) value[i] = null;
    else omitAt(value[i]!, steps, at + 1);
    return;
  }
  const keys = "any" in step ? Object.keys(value) : "key" in step && Object.hasOwn(value, step.key) ? [step.key] : [];
  for (const k of keys) if (last) delete value[k];
  else omitAt(value[k]!, steps, at + 1);
}
