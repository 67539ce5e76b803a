/** `reflow convert`: any readable flow file to any writable format (mitm at a chosen version, msgpack, HAR, JSON Lines). */
import { type Command, Option } from "commander";
import { FlowReadError, WriteUnsupportedError, ExitCode } from "../errors.js";
import { parseFilter } from "../filter/index.js";
import { FLOW_FORMATS, FORMAT_NAMES, type FlowFormat } from "../format/flow-formats.js";
import { MigrationContext, type WritableVersion } from "../format/migrations/index.js";
import { readFlowRecords } from "../io/flow-source.js";
import { flowFromState } from "../model/index.js";
import { FlowWriter } from "../pipeline/flow-writer.js";
import { inputsVersion, parseFlowVersion, writableFor } from "./flow-version.js";
import { expandInputs } from "./inputs.js";
import { Progress } from "./progress.js";
import { errorLine, info, warn } from "./report.js";

interface ConvertOptions {
  output: string;
  to?: FlowFormat;
  format?: FlowFormat;
  flowVersion?: WritableVersion;
  filter?: string;
  caseSensitive?: boolean;
  quiet?: boolean;
}

export function registerConvert(program: Command): void {
  program
    .command("convert")
    .summary("convert flow files between formats and mitmproxy format versions")
    .description(
      "Reads every IN (paths, quoted globs, or - for stdin) in order and writes all their flows to OUT. " +
        "The input format (mitm, reflow msgpack, HAR, .zhar, JSON Lines) is told from the first bytes. Output is written beside OUT and renamed " +
        "into place when complete; OUT may be one of the inputs.",
    )
    .argument("<IN...>", "input flow files, globs or -")
    .requiredOption("-o, --output <OUT>", "output file, or - for stdout")
    .addOption(
      new Option(
        "--to <format>",
        `output format (default: from OUT's extension: ${FORMAT_NAMES.filter((f) => f !== "mitm")
          .map((f) => `${FLOW_FORMATS[f].extensions.join(", ")} ${f}`)
          .join("; ")}; else mitm)`,
      ).choices(FORMAT_NAMES),
    )
    .addOption(new Option("--format <format>", "the same as --to").choices(FORMAT_NAMES).hideHelp())
    .option(
      "--flow-version <N>",
      "mitmproxy format version to write: 17 (mitmproxy 8.1), 18 (9.x), 20 (10.x), 21 (11+); default: the inputs' version",
      parseFlowVersion,
    )
    .option("-f, --filter <EXPR>", "write only the flows this filter expression matches (see reflow filter --help)")
    .option("--case-sensitive", "match the filter's regexes case-sensitively")
    .option("-q, --quiet", "no summary on stderr")
    .addHelpText(
      "after",
      `
Examples:
  reflow convert new.mitm -o old.mitm --flow-version 17   # open a mitmproxy 11 capture in mitmproxy 8.1
  reflow convert 'caps/**/*.mitm' -o all.mitm             # merge captures, in path order
  cat a.mitm | reflow convert - -o - --flow-version 21     # stdin to stdout
  reflow convert capture.mitm -o capture.jsonl            # JSON Lines for jq (docs/jsonl.md)
  reflow convert capture.mitm -o capture.har              # HAR 1.2 for a browser's devtools (HTTP flows only)
  reflow convert devtools-export.har -o capture.mitm      # a browser's HAR export into mitmproxy
  reflow convert capture.mitm -o capture.msgpack          # reflow's own format, faster to read and write
  reflow show a.mitm --json | jq -c 'select(.response.status_code != 304)' | reflow convert - -o b.mitm
  reflow convert cap.mitm -o api.mitm -f '~u /api & !~c 200'   # only the failed API calls`,
    )
    .action(async (inputs: string[], opts: ConvertOptions) => {
      process.exitCode = await convert(inputs, opts);
    });
}

async function convert(args: string[], opts: ConvertOptions): Promise<number> {
  const started = performance.now();
  // a bad filter stops before the output is created
  const filter = opts.filter === undefined ? null : parseFilter(opts.filter, { caseSensitive: opts.caseSensitive });
  const paths = await expandInputs(args);
  const version: WritableVersion | undefined = opts.flowVersion ?? writableOrNull(await inputsVersion(paths));
  const migrations = new MigrationContext();
  const out = await FlowWriter.open(opts.output, { version, format: opts.to ?? opts.format });
  const format = out.format;
  let flows = 0;
  let skipped = 0;
  let unmatched = 0;
  let damage: FlowReadError | undefined;
  const progress = new Progress(paths, () => flows, opts.quiet || opts.output === "-");
  try {
    for (const path of paths) {
      try {
        // Each flow is written (copied into the output) before the next is read.
        for await (const flow of readFlowRecords(path, migrations, { reuseBuffers: true })) {
          if (filter) {
            try {
              // made only when there is a filter: an identity copy needs no model
              if (!filter.match(flowFromState(flow))) {
                unmatched++;
                continue;
              }
            } catch (e) {
              throw flow.error(e); // damage inside the flow, found as it was read
            }
          }
          try {
            await out.write(flow);
            flows = out.count;
          } catch (e) {
            if (!(e instanceof WriteUnsupportedError)) throw e;
            warn(`${flow.file}: flow #${flow.raw.index} (${flow.type}) left out: ${e.message}`);
            skipped++;
          }
        }
      } catch (e) {
        // Damage ends this input only; the flows before it are kept and the other inputs still read.
        if (!(e instanceof FlowReadError)) throw e;
        errorLine(e.message);
        damage ??= e;
      }
    }
    await out.close();
  } catch (e) {
    await out.abort();
    throw e;
  } finally {
    progress.stop();
  }
  const leftOut = out.leftOutSummary();
  if (leftOut) warn(`${leftOut} flow(s) left out: ${FLOW_FORMATS[format].title} holds only HTTP flows`);
  if (!opts.quiet) {
    const secs = ((performance.now() - started) / 1000).toFixed(2);
    const where = opts.output === "-" ? "stdout" : opts.output;
    info(
      `${flows} flows written to ${where} (${format === "mitm" ? `mitm v${out.version ?? version ?? "-"}` : FLOW_FORMATS[format].title})` +
        `${skipped ? `, ${skipped} left out` : ""}` +
        `${filter ? `, ${unmatched} not matching the filter` : ""} in ${secs} s`,
    );
  }
  return damage ? ExitCode.CORRUPT_INPUT : ExitCode.OK;
}

function writableOrNull(v: Awaited<ReturnType<typeof inputsVersion>>): WritableVersion | undefined {
  return v === null ? undefined : writableFor(v);
}
