/** `reflow convert`: any readable flow file to any writable format (mitm at a chosen version, msgpack, HAR, JSON Lines). */
import { type Command, Option } from "commander";
import { ExitCode } from "../errors.js";
import { parseFilter } from "../filter/index.js";
import { FLOW_FORMATS, FORMAT_NAMES, type FlowFormat, outputFormat } from "../format/flow-formats.js";
import type { ReadFlow } from "../format/loaded-flow.js";
import { MigrationContext, type WritableVersion } from "../format/migrations/index.js";
import { FlowWriter } from "../io/flow-writer.js";
import { FilterStage } from "../pipeline/filter-stage.js";
import { FlowChain } from "../pipeline/flow-chain.js";
import { FlowFileSink, refuseUnwritable } from "../pipeline/flow-file-sink.js";
import { runSavedInputs } from "../pipeline/saved-flow-source.js";
import { StrictStage } from "../pipeline/strict-stage.js";
import { inputsVersion, parseFlowVersion, writableFor } from "./flow-version.js";
import { slowHeapGrowthForHar } from "./har-heap.js";
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
  skipUnwritable?: boolean;
  strict?: boolean;
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
    .option("--skip-unwritable", "leave out, with a warning, flows the chosen version cannot hold (default: refuse, exit 2)")
    .option("--strict", "read each flow whole first (as reflow check); a damaged one is reported and left out, exit 3")
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
  reflow convert capture.mitm -o capture.msgpack          # reflow's own format
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
  const filter = opts.filter === undefined ? null : new FilterStage(parseFilter(opts.filter, { caseSensitive: opts.caseSensitive }));
  const paths = await expandInputs(args);
  const format = outputFormat(opts.output, opts.to ?? opts.format);
  await slowHeapGrowthForHar(paths, format);
  // Saved flows → filter → the writer of the format. With no filter and mitm out, nothing reads
  // more than the record: no model object is made and an unchanged flow goes out as the bytes read.
  let skipped = 0;
  const version: WritableVersion | undefined = opts.flowVersion ?? writableOrNull(await inputsVersion(paths));
  const writer = await FlowWriter.open(opts.output, { version, format, like: paths[0] });
  const sink = new FlowFileSink(writer, {
    flushEachBatch: "kept",
    closeWriter: true,
    onLeftOut: (flow, e) => {
      if (!opts.skipUnwritable) refuseUnwritable(flow, e);
      const record = flow.state as ReadFlow;
      warn(`${record.file}: flow #${record.raw.index} (${record.type}) left out: ${e.message}`);
      skipped++;
    },
  });
  // --strict: each flow read whole first, a damaged one reported and left out
  const strict = opts.strict ? new StrictStage((damage) => errorLine(`${damage.message}: left out`)) : null;
  const chain = new FlowChain([...(strict ? [strict] : []), ...(filter ? [filter] : [])], [sink]);
  const progress = new Progress(paths, () => chain.flowsIn, opts.quiet || opts.output === "-");
  let damaged: boolean;
  try {
    // Damage ends its input only; the flows before it are kept and the other inputs still read.
    damaged = await runSavedInputs(paths, new MigrationContext(), () => chain, { onDamage: (e) => errorLine(e.message) });
    await chain.close();
    if (strict?.takeDamage()) damaged = true;
  } catch (e) {
    await writer.abort();
    throw e;
  } finally {
    progress.stop();
  }
  const leftOut = writer.leftOutSummary();
  if (leftOut) warn(`${leftOut} flow(s) left out: ${FLOW_FORMATS[format].title} holds only HTTP flows`);
  if (!opts.quiet) {
    const secs = ((performance.now() - started) / 1000).toFixed(2);
    const where = opts.output === "-" ? "stdout" : opts.output;
    info(
      `${writer.count} ${writer.count === 1 ? "flow" : "flows"} written to ${where} (${format === "mitm" ? (writer.version ? `mitm v${writer.version}` : "mitm") : FLOW_FORMATS[format].title})` +
        `${skipped ? `, ${skipped} left out` : ""}` +
        `${filter ? `, ${filter.unmatched} not matching the filter` : ""} in ${secs} s`,
    );
  }
  return damaged ? ExitCode.CORRUPT_INPUT : ExitCode.OK;
}

function writableOrNull(v: Awaited<ReturnType<typeof inputsVersion>>): WritableVersion | undefined {
  return v === null ? undefined : writableFor(v);
}
