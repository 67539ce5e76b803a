/** `reflow convert`: any readable flow file to mitm at a chosen format version. */
import { type Command, Option } from "commander";
import { FlowReadError, WriteUnsupportedError, ExitCode } from "../errors.js";
import { parseFilter } from "../filter/index.js";
import { MigrationContext, type WritableVersion } from "../format/migrations/index.js";
import { MitmEncoder } from "../format/mitm-writer.js";
import { readFlowRecords } from "../io/flow-source.js";
import { flowFromState } from "../model/index.js";
import { OutputFile } from "../io/output-file.js";
import { inputsVersion, parseFlowVersion, writableFor } from "./flow-version.js";
import { expandInputs } from "./inputs.js";
import { flowToJsonLine } from "../format/jsonl.js";
import { Progress } from "./progress.js";
import { checkFlow } from "../pipeline/flow-check.js";
import { errorLine, info, warn } from "./report.js";

interface ConvertOptions {
  output: string;
  to?: "mitm" | "jsonl";
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
        "The input format is detected from the first bytes. Output is written beside OUT and renamed " +
        "into place when complete; OUT may be one of the inputs.",
    )
    .argument("<IN...>", "input flow files, globs or -")
    .requiredOption("-o, --output <OUT>", "output file, or - for stdout")
    .addOption(
      new Option("--to <format>", "output format (default: jsonl for a .jsonl OUT, else mitm)").choices(["mitm", "jsonl"]),
    )
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
  let version: WritableVersion | undefined = opts.flowVersion ?? writableOrNull(await inputsVersion(paths));
  const migrations = new MigrationContext();
  const out = await OutputFile.open(opts.output, { like: paths[0] });
  const format = opts.to ?? (opts.output.endsWith(".jsonl") ? "jsonl" : "mitm");
  let encoder: MitmEncoder | undefined;
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
          let line: string | undefined;
          const unsound = opts.strict ? checkFlow(flow) : null;
          if (unsound) {
            errorLine(`${unsound.message}: left out`);
            damage ??= unsound;
            continue;
          }
          try {
            if (filter || format === "jsonl") {
              const model = flowFromState(flow); // only when read: an identity copy needs no model
              if (filter && !filter.match(model)) {
                unmatched++;
                continue;
              }
              if (format === "jsonl") line = flowToJsonLine(model);
            }
          } catch (e) {
            throw flow.error(e); // damage inside the flow, found as it was read
          }
          if (line !== undefined) {
            await out.write(Buffer.from(line));
            flows++;
            continue;
          }
          version ??= writableFor(flow.storedVersion);
          encoder ??= new MitmEncoder(version);
          try {
            await out.write(encoder.encode(flow));
            flows++;
          } catch (e) {
            if (!(e instanceof WriteUnsupportedError)) throw e;
            if (!opts.skipUnwritable) throw WriteUnsupportedError.refusing(flow.file, flow.raw.index, flow.type, e);
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
    await out.commit();
  } catch (e) {
    await out.abort();
    throw e;
  } finally {
    progress.stop();
  }
  if (!opts.quiet) {
    const secs = ((performance.now() - started) / 1000).toFixed(2);
    const where = opts.output === "-" ? "stdout" : opts.output;
    info(
      `${flows} flows written to ${where} (${format === "jsonl" ? "JSON Lines" : `mitm v${version ?? "-"}`})` +
        `${skipped ? `, ${skipped} left out` : ""}` +
        `${filter ? `, ${unmatched} not matching the filter` : ""} in ${secs} s`,
    );
  }
  return damage ? ExitCode.CORRUPT_INPUT : ExitCode.OK;
}

function writableOrNull(v: Awaited<ReturnType<typeof inputsVersion>>): WritableVersion | undefined {
  return v === null ? undefined : writableFor(v);
}
