/**
 * What a path names, for the places that must tell files from pipes and devices: a pipe's
 * bytes cannot be peeked at and read again, and a device must not be replaced by a file
 * renamed over it. Links are followed (also the kernel's, such as /dev/stdout).
 */
import { type Stats, statSync } from "node:fs";

/**
 * What is at `path`, or undefined where nothing can be: missing, or below a file
 * (`cap.mitm/x`, ENOTDIR), which the open that follows reports as one line.
 */
function statOf(path: string): Stats | undefined {
  if (path === "-") return undefined;
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
}

/** True for an existing regular file; false for `-` (stdin/stdout), pipes, devices, folders and missing paths. */
export function isRegularFile(path: string): boolean {
  return statOf(path)?.isFile() ?? false;
}

/** True for an existing folder (or a link to one). */
export function isFolder(path: string): boolean {
  return statOf(path)?.isDirectory() ?? false;
}

/** True for an existing path that is neither a regular file nor a folder: a named pipe, a device, a socket. */
export function isPipeOrDevice(path: string): boolean {
  const st = statOf(path);
  return st !== undefined && !st.isFile() && !st.isDirectory();
}
