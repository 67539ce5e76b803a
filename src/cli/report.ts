/** What the CLI tells people on stderr: one-line errors and warnings, colour only on a TTY. */
import { escapeControlKeepingLines } from "../display/human.js";
import { ExitCode, ReflowError } from "../errors.js";
import { exitProcess } from "../io/process-exit.js";

/** Colour on when stderr is a TTY, unless NO_COLOR; FORCE_COLOR forces it on. */
export function useColour(stream: NodeJS.WriteStream = process.stderr): boolean {
  if (process.env.FORCE_COLOR !== undefined && process.env.FORCE_COLOR !== "0") return true;
  if (process.env.NO_COLOR !== undefined) return false;
  return Boolean(stream.isTTY);
}

const paint = (code: string, text: string): string => (useColour() ? `\x1b[${code}m${text}\x1b[0m` : text);

// Messages may quote a file's or the network's bytes (a bad length prefix, a host name):
// escaped here, so that no message can drive the terminal.

/** A warning line on stderr. */
export function warn(message: string): void {
  process.stderr.write(`${paint("33", "warning:")} ${escapeControlKeepingLines(message)}\n`);
}

/** An error line on stderr. */
export function errorLine(message: string): void {
  process.stderr.write(`${paint("31", "error:")} ${escapeControlKeepingLines(message)}\n`);
}

/** A status line on stderr. */
export function info(message: string): void {
  process.stderr.write(`${escapeControlKeepingLines(message)}\n`);
}

/** Script logs and script errors on stderr (a script may print what a flow holds). */
export function scriptOutput(text: string): void {
  process.stderr.write(escapeControlKeepingLines(text));
}

/**
 * The exit code when stdout is closed under the command (`reflow ... | head`): 141, as for a
 * process killed by SIGPIPE, since output was lost; `diff` makes it 1 once it has found a
 * difference, which the lost output cannot change.
 */
export const closedStdout = { exitCode: 141 };

/** Prints a failure as one line and returns the exit code it maps to. Unknown errors keep their stack. */
export function reportFailure(e: unknown): number {
  if (e instanceof ReflowError) {
    errorLine(e.message);
    return e.exitCode;
  }
  errorLine(e instanceof Error ? (e.stack ?? e.message) : String(e));
  return 70; // an internal error: a bug in reflow, not in the input
}

/**
 * What Node itself would print raw gets the same escaping: an exception nothing caught (a
 * script's timer that throws `new Error(flow.request.path)`, a rejected promise left alone)
 * and a process warning (a script's `process.emitWarning`). The exit code stays Node's own
 * for an uncaught exception (1), or a ReflowError's.
 */
export function escapeProcessMessages(): void {
  process.on("uncaughtException", (e) => {
    const code = reportFailure(e);
    exitProcess(e instanceof ReflowError ? code : ExitCode.FINISHED_WITH_ERRORS);
  });
  // Node's own printer writes the message raw; none is there under --no-warnings or NODE_NO_WARNINGS=1
  const nodePrinters = process.listeners("warning");
  if (!nodePrinters.length) return;
  for (const printer of nodePrinters) process.off("warning", printer);
  process.on("warning", (w) => process.stderr.write(`(node:${process.pid}) ${escapeControlKeepingLines(`${w.name}: ${w.message}`)}\n`));
}
