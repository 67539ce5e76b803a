/**
 * The temp files outputs are written into before they are renamed into place: named after
 * their output and the writing process (`.OUT.reflow-PID-RANDOM.tmp`), removed on every exit
 * this process still controls, and, for the exits it does not (SIGKILL, a signal while a
 * script hook blocks the thread), removed by the next reflow that writes beside them.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { exitProcess } from "./process-exit.js";

/** Temp files this thread has open: removed when the process exits before they are renamed. */
const live = new Set<string>();
let exitHookInstalled = false;
let signalCleanup = true;
let signalHandlersInstalled = false;

/** Signals that end a reflow command, and the exit code a shell would report for each. */
const ENDING_SIGNALS = [
  ["SIGINT", 130],
  ["SIGTERM", 143],
  ["SIGHUP", 129],
] as const;

/** The temp path for `target`, beside it. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.reflow-${process.pid}-${randomBytes(4).toString("hex")}.tmp`);
}

/** Registers a temp file just created: it is removed if the process ends before `release`. */
export function trackTempFile(path: string): void {
  live.add(path);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // `exit` runs for a normal end, process.exit() (also a script's) and an uncaught error
    process.on("exit", removeLiveTempFiles);
  }
  if (signalCleanup && !signalHandlersInstalled) installSignalHandlers();
}

/** The temp file was renamed into place or removed: no longer ours to clean up. */
export function releaseTempFile(path: string): void {
  live.delete(path);
}

function removeLiveTempFiles(): void {
  for (const p of live) {
    try {
      unlinkSync(p);
    } catch {
      /* already gone */
    }
  }
  live.clear();
}

function installSignalHandlers(): void {
  signalHandlersInstalled = true;
  for (const [sig, code] of ENDING_SIGNALS) process.once(sig, () => {
    removeLiveTempFiles();
    // End by the signal itself, its default action restored, as well-behaved Unix tools do: a
    // shell reports 128 + n and a loop around reflow stops on Ctrl-C. process.exit() would
    // wait for every thread-pool thread, and one blocked opening a named pipe whose writer
    // never comes would keep the process alive.
    for (const [s] of ENDING_SIGNALS) process.removeAllListeners(s);
    process.kill(process.pid, sig);
    exitProcess(code); // not reached once the signal is delivered
  });
}

/**
 * From now on signals keep their default action (the process ends at once, whatever the
 * thread is doing). Called before user scripts run on this thread: a JavaScript signal
 * handler waits for the thread, and a hook stuck in a loop would make the process ignore
 * SIGTERM and SIGINT. Temp files left by such an end are removed by the next run
 * (removeStaleTempFiles).
 */
export function keepDefaultSignalActions(): void {
  signalCleanup = false;
  if (!signalHandlersInstalled) return;
  for (const [sig] of ENDING_SIGNALS) process.removeAllListeners(sig);
  signalHandlersInstalled = false;
}

const TEMP_NAME = /^\.(.+)\.reflow-(\d+)-[0-9a-f]{8}\.tmp$/;

/** True when a process with this id is running (possibly another user's). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temp files of `target` left beside it by reflow processes that no longer run
 * (killed, or ended by a signal while a script blocked them). Those of live processes stay.
 */
export function removeStaleTempFiles(target: string): void {
  const dir = dirname(target);
  const name = basename(target);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return; // the directory is checked when the output is opened
  }
  for (const entry of entries) {
    const m = TEMP_NAME.exec(entry);
    if (!m || m[1] !== name) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || isAlive(pid)) continue;
    try {
      unlinkSync(join(dir, entry));
    } catch {
      /* removed meanwhile, or not ours to remove */
    }
  }
}
