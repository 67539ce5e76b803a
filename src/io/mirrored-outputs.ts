/**
 * One output per input under a directory (`run -w DIR/`): each output sits at its input's
 * path below the inputs' common base, so inputs of one base name in different folders
 * (`caps/x/a.mitm`, `caps/y/a.mitm`) never overwrite each other's output.
 */
import { dirname, join, relative, resolve, sep } from "node:path";
import { OutputError } from "../errors.js";
import { makeOutputFolder } from "./output-folder.js";

const GLOB_CHARS = /[*?[\]{}]/;

/** Where an IN argument's files live: a glob's fixed leading folders, or a path's folder. */
export function inputRoot(arg: string): string {
  if (!GLOB_CHARS.test(arg)) return dirname(resolve(arg));
  const fixed: string[] = [];
  for (const part of arg.split("/")) {
    if (GLOB_CHARS.test(part)) break;
    fixed.push(part);
  }
  return resolve(fixed.join("/") || (arg.startsWith("/") ? "/" : "."));
}

/** The deepest folder that holds every one of `folders` (absolute paths). */
export function commonFolder(folders: string[]): string {
  let common = folders[0]!.split(sep);
  for (const f of folders.slice(1)) {
    const parts = f.split(sep);
    let i = 0;
    while (i < common.length && i < parts.length && common[i] === parts[i]) i++;
    common = common.slice(0, i);
  }
  return common.join(sep) || sep;
}

/**
 * The output path of each input: `dir` + the input's path below the common base of the IN
 * arguments (each glob's base, each plain path's folder). Two inputs that would still share
 * an output (the same file named twice) are refused here, before anything is written; `dir`
 * and the folders the outputs need are made (`dir` even with no input: a `--shard` share
 * that gets no file still has its output, an empty folder).
 */
export function mirroredOutputs(args: string[], paths: string[], dir: string): Map<string, string> {
  const base = commonFolder([...args.map(inputRoot), ...paths.map((p) => dirname(resolve(p)))]);
  const outputs = new Map<string, string>();
  const claimed = new Map<string, string>();
  for (const path of paths) {
    const out = join(dir, relative(base, resolve(path)));
    const other = claimed.get(out);
    if (other !== undefined)
      throw new OutputError(out, `would be written from both ${other} and ${path}: name each input once`);
    claimed.set(out, path);
    outputs.set(path, out);
  }
  makeOutputFolder(dir);
  for (const out of claimed.keys()) makeOutputFolder(dirname(out));
  return outputs;
}
