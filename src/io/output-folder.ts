/** Making the folder an output goes into (`run -w DIR/`, `export --body-dir DIR`). */
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { OutputError } from "../errors.js";
import { isFolder } from "./file-kind.js";
import { failureMessage } from "./output-file.js";

function tryMkdir(dir: string): NodeJS.ErrnoException | null {
  try {
    mkdirSync(dir);
    return null;
  } catch (e) {
    return e as NodeJS.ErrnoException;
  }
}

/**
 * Makes `dir` and its missing parents, as `mkdir -p`. A failure is an OutputError naming
 * `dir` (exit 2). Parents are made one by one rather than with `{ recursive: true }`, which
 * in Node 20 never returns for a folder that cannot be made in a folder that exists (`/proc/x`).
 */
export function makeOutputFolder(dir: string): void {
  let failure = tryMkdir(dir);
  if (failure?.code === "ENOENT" && dirname(dir) !== dir) {
    makeOutputFolder(dirname(dir));
    failure = tryMkdir(dir); // once more only: a folder that still cannot be made is reported
  }
  if (failure === null || (failure.code === "EEXIST" && isFolder(dir))) return;
  if (failure.code === "EEXIST") throw new OutputError(dir, "is a file, not a folder");
  if (failure.code === "ENOTDIR") throw new OutputError(dir, "a part of the path is a file, not a folder");
  throw new OutputError(dir, failureMessage(failure));
}
