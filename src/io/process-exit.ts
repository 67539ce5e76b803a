/**
 * Ending the process from reflow's own code (a signal, a closed stdout), told apart from a
 * user script's `process.exit()`, which leaves a run unfinished and is reported as such.
 */
let own = false;

/** Ends the process with `code` on reflow's own behalf. */
export function exitProcess(code: number): never {
  own = true;
  process.exit(code);
}

/** True once reflow itself has asked the process to end. */
export function isOwnExit(): boolean {
  return own;
}
