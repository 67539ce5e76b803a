/** `reflow check`: reads every flow of every input whole and reports each damaged one. */
import type { Command } from "commander";
import { ExitCode, FlowReadError } from "../errors.js";
import { MigrationContext } from "../format/migrations/index.js";
import { readFlowRecords } from "../io/flow-source.js";
import { checkFlow } from "../pipeline/flow-check.js";
import { expandInputs } from "./inputs.js";
import { errorLine, info } from "./report.js";

export function registerCheck(program: Command): void {
  program
    .command("check")
    .summary("read every flow whole and report each damaged one")
    .description(
      "Reads every flow of every IN (paths, quoted globs, or - for stdin) whole: every field of the model, " +
        "bodies decoded by their Content-Encoding, and the flow written at every version reflow writes. " +
        "Each damaged flow is one line naming its file, byte offset, flow index and field. Exit 0 when " +
        "every flow is sound, 3 when any is damaged. Other commands read only what they need, so damage " +
        "inside a flow shows there only when something reads it (see --strict on run and convert).",
    )
    .argument("<IN...>", "input flow files, globs or -")
    .option("-q, --quiet", "no summary on stderr")
    .addHelpText(
      "after",
      `
Examples:
  reflow check capture.mitm                 # exit 0: every flow reads whole
  reflow check 'caps/**/*.mitm' && upload   # only sound captures go on`,
    )
    .action(async (inputs: string[], opts: { quiet?: boolean }) => {
      process.exitCode = await check(inputs, opts);
    });
}

async function check(args: string[], opts: { quiet?: boolean }): Promise<number> {
  const paths = await expandInputs(args);
  const migrations = new MigrationContext();
  let flows = 0;
  let damaged = 0;
  for (const path of paths) {
    try {
      for await (const record of readFlowRecords(path, migrations, { reuseBuffers: true })) {
        flows++;
        const damage = checkFlow(record);
        if (!damage) continue;
        damaged++;
        errorLine(damage.message);
      }
    } catch (e) {
      // damage in the framing ends this input: the flows after it cannot be found
      if (!(e instanceof FlowReadError)) throw e;
      damaged++;
      errorLine(e.message);
    }
  }
  if (!opts.quiet)
    info(`${flows} flow${flows === 1 ? "" : "s"} in ${paths.length} ${paths.length === 1 ? "file" : "files"} read whole: ${damaged ? `${damaged} damaged` : "all sound"}`);
  return damaged ? ExitCode.CORRUPT_INPUT : ExitCode.OK;
}
