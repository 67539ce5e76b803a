/**
 * A script's failure as its author needs it: the place in the script's own code (file,
 * line, column) and the first line of the message, instead of the loader's internals.
 */
import { relative } from "node:path";
import { fileURLToPath } from "node:url";

/** reflow's own code, whose stack frames say nothing to a script's author. */
const OWN_CODE = fileURLToPath(new URL("..", import.meta.url));

/**
 * `file:line:col` positions in a stack or a parser's message (paths or file: URLs), never a
 * part of one (`node:internal/modules/esm/get_format:189:9` names no file of anyone's).
 */
const POSITION = /(?<![\w:])(file:\/\/[^\s()]+|\/[^\s():]+):(\d+):(\d+)/g;

/** Where in user code `e` happened: the script's own file first, else any file not reflow's. */
export function scriptPosition(e: unknown, scriptPath: string): string | null {
  const text = e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e);
  let other: string | null = null;
  for (const m of text.matchAll(POSITION)) {
    const file = m[1]!.startsWith("file://") ? fileURLToPath(m[1]!) : m[1]!;
    const at = `${relative(process.cwd(), file) || file}:${m[2]}:${m[3]}`;
    if (file === scriptPath) return at;
    if (!other && !file.startsWith(OWN_CODE) && !file.includes("/node_modules/")) other = at;
  }
  return other;
}

/** The first line of an error's message, without the wrappers loaders add (`Error: ParseError: ...`). */
export function firstLine(e: unknown): string {
  const text = e instanceof Error ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}` : String(e);
  return text.split("\n")[0]!.replace(/^(Error: )+/, "").trim();
}
