#!/usr/bin/env node
/** The `reflow` command: parses arguments and hands each subcommand to its module. */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { ExitCode } from "../errors.js";
import { closedStdout, errorLine, escapeProcessMessages, reportFailure } from "./report.js";
import { escapeControlKeepingLines } from "../display/human.js";
import { exitProcess } from "../io/process-exit.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

/**
 * The subcommands, in help order, each loaded only when needed: a command run by name loads
 * its own modules alone, which takes a third off a short command's start-up.
 */
const COMMANDS: Record<string, () => Promise<(program: Command) => void>> = {
  run: async () => (await import("./run.js")).registerRun,
  convert: async () => (await import("./convert.js")).registerConvert,
  show: async () => (await import("./show.js")).registerShow,
  filter: async () => (await import("./filter.js")).registerFilter,
  capture: async () => (await import("./capture.js")).registerCapture,
  diff: async () => (await import("./diff.js")).registerDiff,
  replay: async () => (await import("./replay.js")).registerReplay,
  check: async () => (await import("./check.js")).registerCheck,
  export: async () => (await import("./export.js")).registerExport,
  "init-script": async () => (await import("./init-script.js")).registerInitScript,
};

/** One example per command, for `reflow --help`. */
const EXAMPLES = `
Examples:
  reflow run -r capture.mitm -s rewrite.ts -w out.mitm            run a script over saved flows
  reflow convert new.mitm -o old.mitm --flow-version 17            write for mitmproxy 8.1
  reflow show capture.mitm --detail 2 '~c 404'                     list flows like mitmdump
  reflow filter --explain '~d example.com & !~s'                   check a filter expression
  reflow capture -w run.mitm                                       record through a proxy on :8080
  reflow diff before.mitm after.mitm --junit report.xml            compare two flow files
  reflow replay api.mitm -m reverse:http://api:3000 --strict       answer requests from a recording
  reflow check capture.mitm                                        read every flow whole (exit 3 if damaged)
  reflow export capture.mitm --format curl '~u /login'             a flow as a curl command
  reflow init-script rewrite.ts                                    start a typed script

Each command's --help has more.`;

/**
 * Commander's own errors (unknown option, missing argument) as one line, escaped, with where
 * to read more: `error: unknown option '--detial' (did you mean --detail?) (see reflow show --help)`.
 */
function oneLineErrors(help: string): { outputError: (text: string, write: (s: string) => void) => void } {
  return {
    outputError: (text, write) => {
      const line = text.trim().replace(/\n\(Did you mean/g, " (did you mean").replace(/\s*\n\s*/g, " ");
      write(`${escapeControlKeepingLines(line)} (see ${help})\n`);
    },
  };
}

/** The commands `argv` needs: the one it names, or all of them (for help and errors). */
function commandsFor(argv: string[]): string[] {
  const named = argv[2];
  return named !== undefined && Object.hasOwn(COMMANDS, named) ? [named] : Object.keys(COMMANDS);
}

export async function buildProgram(argv: string[] = []): Promise<Command> {
  const program = new Command("reflow")
    .description("Read, rewrite, capture and diff mitmproxy flow files.")
    .version(pkg.version)
    .exitOverride()
    .addHelpText("after", EXAMPLES);
  // commander's errors quote the argument they refuse, which may be a glob-expanded file name
  program.configureOutput(oneLineErrors("reflow --help"));
  const names = commandsFor(argv);
  const registers = await Promise.all(names.map((name) => COMMANDS[name]!()));
  for (const register of registers) register(program);
  for (const cmd of program.commands) cmd.exitOverride().configureOutput(oneLineErrors(`reflow ${cmd.name()} --help`));
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : ExitCode.OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and --version end through here with exit code 0
      return e.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    return reportFailure(e);
  }
}

// A reader that stops early (`reflow show big.mitm | head`) closes stdout: that ends the
// command quietly, as for any Unix tool, with 141 as if SIGPIPE had ended it (output was
// lost, so never 0). Any other failure of stdout (a full disk) is one line, exit 2.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") exitProcess(closedStdout.exitCode);
  errorLine(`<stdout>: ${e.message}`);
  exitProcess(ExitCode.USAGE);
});
// A closed stderr (`reflow ... 2>&1 | head`) only loses messages: the work goes on.
process.stderr.on("error", () => {});
escapeProcessMessages();

process.exitCode = await main(process.argv);
