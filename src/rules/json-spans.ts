/**
 * Where the values at a JSON path (`$.a.b`, `$.items[0].id`, `$.items[*].token`) sit in a
 * JSON text, found by scanning it: a redaction then replaces just those characters and the
 * rest of the body (spacing, number spelling, key order) stays as it was.
 */

/** One step of a path: a key, an array index, or `*` for any key or index. */
export type PathStep = string | number | { any: true };

/** Parses `$.a.b[2][*].c` into steps; null when `path` is not one. */
export function parseJsonPath(path: string): PathStep[] | null {
  if (!path.startsWith("$")) return null;
  const steps: PathStep[] = [];
  const re = /\.([^.[\]]+)|\[(\d+|\*)\]|\['([^']*)'\]/y;
  re.lastIndex = 1;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) return null;
    if (m[1] !== undefined) steps.push(m[1] === "*" ? { any: true } : m[1]);
    else if (m[2] !== undefined) steps.push(m[2] === "*" ? { any: true } : Number(m[2]));
    else steps.push(m[3]!);
  }
  return steps.length ? steps : null;
}

const WS = /[ \t\n\r]*/y;
const NUMBER_OR_WORD = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;

/** The [start, end) spans of every value at `steps` in `text`; [] when `text` is not JSON. */
export function jsonValueSpans(text: string, steps: readonly PathStep[]): [number, number][] {
  const spans: [number, number][] = [];
  let pos = 0;
  const skip = (): void => {
    WS.lastIndex = pos;
    WS.exec(text);
    pos = WS.lastIndex;
  };
  const token = (re: RegExp): string => {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) throw new SyntaxError(`not JSON at ${pos}`);
    pos = re.lastIndex;
    return m[0];
  };
  const expect = (c: string): void => {
    if (text[pos] !== c) throw new SyntaxError(`expected ${c} at ${pos}`);
    pos++;
  };
  const fits = (step: PathStep | undefined, key: string | number): boolean =>
    step !== undefined && (typeof step === "object" || step === key);
  // depth: how many steps the path so far has matched; -1 once it left the path
  const value = (depth: number): void => {
    skip();
    const start = pos;
    const c = text[pos];
    if (c === "{") {
      pos++;
      skip();
      if (text[pos] === "}") pos++;
      else
        for (;;) {
          skip();
          const key = JSON.parse(token(STRING)) as string;
          skip();
          expect(":");
          member(depth, key);
          skip();
          if (text[pos] === ",") pos++;
          else {
            expect("}");
            break;
          }
        }
    } else if (c === "[") {
      pos++;
      skip();
      if (text[pos] === "]") pos++;
      else
        for (let i = 0; ; i++) {
          member(depth, i);
          skip();
          if (text[pos] === ",") pos++;
          else {
            expect("]");
            break;
          }
        }
    } else if (c === '"') token(STRING);
    else token(NUMBER_OR_WORD);
    if (depth === steps.length) spans.push([start, pos]);
  };
  const member = (depth: number, key: string | number): void => {
    const inside = depth >= 0 && depth < steps.length && fits(steps[depth], key) ? depth + 1 : -1;
    value(inside);
  };
  try {
    value(0);
    skip();
    if (pos !== text.length) return [];
  } catch (e) {
    if (e instanceof SyntaxError) return [];
    throw e;
  }
  return steps.length === 0 ? [] : spans;
}

/** `text` with each span's value replaced by the JSON string `replacement`. */
export function replaceSpans(text: string, spans: readonly [number, number][], replacement: string): string {
  let out = "";
  let at = 0;
  for (const [start, end] of spans) {
    out += text.slice(at, start) + JSON.stringify(replacement);
    at = end;
  }
  return out + text.slice(at);
}
