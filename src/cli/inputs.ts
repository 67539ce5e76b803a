/** Turns the IN arguments of a command (paths, quoted globs, `-`) into an ordered file list. */
import { InputError } from "../errors.js";

const GLOB_CHARS = /[*?[\]{}]/;

/**
 * Expands each argument in the order given: `-` stays stdin, a glob becomes its matches
 * sorted by path, a plain path stays as it is (a missing one fails when it is opened).
 */
export async function expandInputs(args: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const arg of args) {
    if (arg === "-" || !GLOB_CHARS.test(arg)) {
      out.push(arg);
      continue;
    }
    // Loaded only when needed: it costs ~40 ms of start-up.
    const { default: fg } = await import("fast-glob");
    const matches = await fg(arg, { onlyFiles: true, dot: false, followSymbolicLinks: true });
    if (matches.length === 0) throw new InputError("E_INPUT_MISSING", arg, "the pattern matches no files");
    out.push(...matches.sort());
  }
  if (out.filter((p) => p === "-").length > 1)
    throw new InputError("E_INPUT_UNREADABLE", "-", "stdin can be read only once");
  return out;
}
