/**
 * A script that calls `process.exit()` ends the whole process in the middle of a run: the
 * output is never renamed into place, so such an end must never look like success.
 */
import { ExitCode } from "../errors.js";
import { isOwnExit } from "../io/process-exit.js";

/** Guards a run from now until `finished()`: an earlier process exit is reported and never 0. */
export function guardUnfinishedRun(): { finished(): void } {
  let crashed = false;
  const onCrash = (): void => void (crashed = true);
  const onExit = (code: number): void => {
    if (isOwnExit() || crashed) return; // a signal, a closed stdout, a crash: said and coded where it happened
    process.stderr.write(
      `error: the process was ended (exit code ${code}) before the run finished, by a script calling process.exit(): no output was written\n`,
    );
    if (!code) process.exitCode = ExitCode.FINISHED_WITH_ERRORS;
  };
  process.on("exit", onExit);
  process.on("uncaughtExceptionMonitor", onCrash);
  return {
    finished: () => {
      process.off("exit", onExit);
      process.off("uncaughtExceptionMonitor", onCrash);
    },
  };
}
