#!/usr/bin/env node
/** The `reflow` command: parses arguments and hands each subcommand to its module. */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { ExitCode } from "../errors.js";
import { registerCapture } from "./capture.js";
import { registerConvert } from "./convert.js";
import { registerDiff } from "./diff.js";
import { registerFilter } from "./filter.js";
import { registerShow } from "./show.js";
import { registerRun } from "./run.js";
import { reportFailure } from "./report.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

export function buildProgram(): Command {
  const program = new Command("reflow")
    .description("Read, rewrite, capture and diff mitmproxy flow files.")
    .version(pkg.version)
    .showHelpAfterError("(add --help for usage)")
    .exitOverride();
  program.configureOutput({ outputError: (text, write) => write(text) });
  registerRun(program);
  registerConvert(program);
  registerShow(program);
  registerFilter(program);
  registerCapture(program);
  registerDiff(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
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
// command quietly, as for any Unix tool, instead of with a stack trace.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(process.exitCode ?? ExitCode.OK);
  throw e;
});

process.exitCode = await main(process.argv);
