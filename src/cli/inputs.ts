/** Turns the IN arguments of a command (paths, quoted globs, `-`) into an ordered file list. */
import { existsSync } from "node:fs";
import { isAbsolute, posix, relative, sep } from "node:path";
import { InputError } from "../errors.js";

const GLOB_CHARS = /[*?[\]{}]/;

/** An input file and the key `--shard` hashes: its path relative to the glob it came from. */
export interface KeyedInput {
  path: string;
  key: string;
}

/**
 * Expands each argument in the order given: `-` stays stdin, a glob becomes its matches
 * sorted by path, a plain path stays as it is (a missing one fails when it is opened). A
 * path that exists is plain even when it holds glob characters (`capture[1].mitm`).
 */
export async function expandInputs(args: string[]): Promise<string[]> {
  return (await expandKeyedInputs(args)).map((input) => input.path);
}

/** The folders of a glob before its first wildcard: `caps/2024/**\/*.mitm` → `caps/2024`. */
function globBase(pattern: string): string {
  const parts = pattern.split("/");
  const fixed = parts.slice(0, parts.findIndex((p) => GLOB_CHARS.test(p)));
  return fixed.join("/") || (pattern.startsWith("/") ? "/" : ".");
}

/**
 * A plain path's key: as written, normalized, with `/` separators; an absolute path inside
 * the working directory counts from there, so `$PWD/a.mitm` and `a.mitm` share a key.
 */
function plainKey(path: string): string {
  const inside = isAbsolute(path) ? relative(process.cwd(), path) : path;
  const key = inside.startsWith("..") || isAbsolute(inside) ? path : inside;
  return posix.normalize(key.split(sep).join("/"));
}

/** expandInputs, with each file's stable key for `--shard`. */
export async function expandKeyedInputs(args: string[]): Promise<KeyedInput[]> {
  const out: KeyedInput[] = [];
  for (const arg of args) {
    if (arg === "-" || !GLOB_CHARS.test(arg) || existsSync(arg)) {
      out.push({ path: arg, key: arg === "-" ? "-" : plainKey(arg) });
      continue;
    }
    // Loaded only when needed: it costs ~40 ms of start-up.
    const { default: fg } = await import("fast-glob");
    const matches = await fg(arg, { onlyFiles: true, dot: false, followSymbolicLinks: true });
    if (matches.length === 0) throw new InputError("E_INPUT_MISSING", arg, "the pattern matches no files");
    const base = globBase(arg);
    for (const path of matches.sort()) out.push({ path, key: posix.relative(base, path) });
  }
  if (out.filter((input) => input.path === "-").length > 1)
    throw new InputError("E_INPUT_UNREADABLE", "-", "stdin can be read only once");
  return out;
}
