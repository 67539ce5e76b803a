/**
 * What a path names, for the places that must tell files from pipes and devices: a pipe's
 * bytes cannot be peeked at and read again, and a device must not be replaced by a file
 * renamed over it. Links are followed (also the kernel's, such as /dev/stdout).
 */
import { statSync } from "node:fs";

/** True for an existing regular file; false for `-` (stdin/stdout), pipes, devices, folders and missing paths. */
export function isRegularFile(path: string): boolean {
  return path !== "-" && (statSync(path, { throwIfNoEntry: false })?.isFile() ?? false);
}

/** True for an existing path that is neither a regular file nor a folder: a named pipe, a device, a socket. */
export function isPipeOrDevice(path: string): boolean {
  const st = path === "-" ? undefined : statSync(path, { throwIfNoEntry: false });
  return st !== undefined && !st.isFile() && !st.isDirectory();
}
