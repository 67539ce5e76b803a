/** `reflow run`: user scripts over saved flows, in saved order — the main job. */
import { realpathSync } from "node:fs";
import { type Command, Option } from "commander";
import { ExitCode, UsageError } from "../errors.js";
import { FORMAT_NAMES, type FlowFormat, outputFormat } from "../format/flow-formats.js";
import type { WritableVersion } from "../format/migrations/index.js";
import { type BatchJob, BatchRun, type RunOutputs, runInputs } from "../pipeline/batch-run.js";
import { RunOutcomes } from "../pipeline/run-outcomes.js";
import { writeWholeFile } from "../io/output-file.js";
import type { PipelineStats } from "../pipeline/pipeline.js";
import type { LogLevel } from "../pipeline/script.js";
import { Progress } from "./progress.js";
import { inputsVersion, parseFlowVersion } from "./flow-version.js";
import { expandKeyedInputs } from "./inputs.js";
import { parseShardSpec, resolveShard, type ShardSpec, takeShare } from "./shard.js";
import { splitInputsAndFilter } from "./filter-words.js";
import { filterFromWords } from "../filter/index.js";
import { errorLine, info, scriptOutput, warn } from "./report.js";
import { addRuleOptions, ruleStages } from "./rule-options.js";
import type { RuleArgument } from "../rules/index.js";
import { isFolder } from "../io/file-kind.js";
import { mirroredOutputs } from "../io/mirrored-outputs.js";
import { guardUnfinishedRun } from "../pipeline/script-exit-guard.js";

interface RunOptions {
  rfile?: string[];
  caseSensitive?: boolean;
  wfile?: string;
  afile?: string;
  script: string[];
  flowVersion?: WritableVersion;
  format?: FlowFormat;
  concurrency: number;
  shard?: ShardSpec;
  jobs: number;
  keepUnmatched?: boolean;
  quiet?: boolean;
  verbose: number;
  rules: RuleArgument[];
  junit?: string;
  skipUnwritable?: boolean;
  strict?: boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** A parser for an option that takes a whole number of at least 1; its errors name the option. */
const positive =
  (option: string) =>
  (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${option} takes a whole number of at least 1 (got ${JSON.stringify(text)})`);
    return n;
  };

export function registerRun(program: Command): void {
  const cmd = program
    .command("run")
    .summary("run scripts over saved flows, in saved order, and write the result")
    .description(
      "Reads the flows of every IN in order, fires the scripts' events on each (request, responseheaders, " +
        "response, websocket_message, error; tcp_message, udp_message, dns_request and dns_response for those flows) and writes the flows, in the same order, to OUT. " +
        "With no script the output is byte-identical to the input. OUT is written beside itself and renamed into " +
        "place when complete, so -r X -w X is a safe in-place rewrite. A FILTER (mitmproxy's filter language, " +
        "its words joined by spaces; it may also follow the inputs of -r) selects the flows that go through the " +
        "scripts and into the output, judged on each flow as saved (before the scripts): the flows it does not " +
        "match are dropped, or with --keep-unmatched written unchanged (they fire no events).",
    )
    .argument("[FILTER...]", "a filter expression: only matching flows go through the scripts and into the output; the others are dropped")
    // checked in run(), not by commander: commander reports a missing mandatory option before an
    // unknown one, and mitmdump's `-nr cap.mitm` would read as "no -r"
    .option("-r, --rfile <IN...>", "input flow files, quoted globs, or - for stdin (in the order given; required)")
    .option("-w, --wfile <OUT>", "write the flows to OUT (- for stdout); an existing directory or a path ending in / gets one file per input, at its path below the inputs' common folder")
    .option("-a, --afile <OUT>", "append the flows to OUT (must not be an input)")
    .option("-s, --script <'PATH ARGS'>", "a script and its arguments, split like a shell would (repeatable; run in order)", collect, [])
    .option("--flow-version <N>", "mitmproxy format version to write: 17, 18, 20 or 21 (default: the inputs' version)", parseFlowVersion)
    .addOption(
      new Option("--format <format>", "output format (default: OUT's extension: .msgpack, .har, .zhar, .jsonl; else mitm)").choices(
        FORMAT_NAMES,
      ),
    )
    .addOption(new Option("--concurrency <N>", "flows in flight at once while concurrent() hooks run").default(16).argParser(positive("--concurrency")))
    .option("--keep-unmatched", "write the flows the FILTER does not match unchanged (they fire no events) instead of dropping them")
    .option("--case-sensitive", "match filter regexes case-sensitively (default: ignore case)")
    .addOption(new Option("-j, --jobs <N>", "with several inputs, process N files at once in worker threads (each loads the scripts)").default(1).argParser(positive("--jobs")))
    .option("--shard <K/N|auto|auto/N>", "process only the K-th of N shares of the input files (auto: from the CI's variables)", parseShardSpec)
    .option("--junit <FILE>", "also write a JUnit XML report: a test case per flow, a failure per script error")
    .option("--skip-unwritable", "leave out, with a warning, flows the chosen version cannot hold (default: refuse, exit 2)")
    .option("--strict", "read each flow whole first (as reflow check); a damaged one is reported and left out, exit 3")
    .option("-q, --quiet", "no summary")
    .option("-v, --verbose", "show script logs (-v info, -vv debug)", (_v: string, n: number) => n + 1, 0);
  const rules = addRuleOptions(cmd);
  cmd
    .addHelpText(
      "after",
      `
Examples:
  reflow run -r capture.mitm -s examples/add-header.ts -w out.mitm
  reflow run -r capture.mitm --modify-headers '/~s/X-Env/ci' --redact authorization -w out.mitm
  reflow run -r capture.mitm -s 'examples/replace.ts hello goodbye' -w capture.mitm   # in place
  reflow run -r 'caps/**/*.mitm' -s examples/redact.ts -w redacted/                    # one output per input
  reflow run -r 'caps/*.mitm' --shard 2/4 -w part2.mitm                                # a CI matrix share
  reflow run -r 'caps/*.mitm' --shard auto -w out/                                     # share from GitLab/CircleCI/... variables
  reflow run -r capture.mitm '~d api.example.com & ~s' -w api.mitm                     # keep only matching flows
  reflow run -r 'caps/*.mitm' -s checks.ts --junit checks.xml                          # script errors as a CI test report
  reflow run -r capture.mitm -s redact.ts --keep-unmatched -w capture.mitm '~d api'    # rewrite api flows only, keep the rest
  cat a.mitm | reflow run -r - -s check.ts -w - > b.mitm`,
    )
    .action(async (filterArgs: string[], opts: RunOptions) => {
      process.exitCode = await run(filterArgs, { ...opts, rules: rules() });
    });
}

/** One output per input when -w names a directory (existing, or written with a trailing /). */
function isDirectoryTarget(path: string): boolean {
  return path.endsWith("/") || isFolder(path);
}

function samePath(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

async function run(filterArgs: string[], opts: RunOptions): Promise<number> {
  const started = performance.now();
  if (!opts.rfile) throw new UsageError("run needs its inputs: -r IN (reflow run -r capture.mitm -s script.ts -w out.mitm)");
  if (opts.wfile && opts.afile) throw new UsageError("use -w or -a, not both");
  // -r takes every word up to the next option, so filter words may trail the inputs there
  const { inputs, filterWords } = splitInputsAndFilter(opts.rfile);
  // parsed now so that a malformed expression stops the run before anything is read
  filterFromWords([...filterWords, ...filterArgs], { caseSensitive: opts.caseSensitive });
  const keyed = await expandKeyedInputs(inputs);
  const paths = (opts.shard ? takeShare(keyed, resolveShard(opts.shard), warn) : keyed).map((input) => input.path);
  if (opts.afile && paths.some((p) => p !== "-" && samePath(p, opts.afile!)))
    throw new UsageError(`refusing to append to ${opts.afile}: it is also an input (that would never end)`);
  const perInput = opts.wfile !== undefined && opts.wfile !== "-" && isDirectoryTarget(opts.wfile);
  if (perInput && paths.includes("-")) throw new UsageError("stdin has no name to write a per-input output under");
  // outputs mirror the inputs' paths below their common base; a clash stops here (exit 2)
  const mirrored = perInput ? mirroredOutputs(inputs, paths, opts.wfile!) : null;

  const job: BatchJob = {
    scripts: opts.script,
    filterWords: [...filterWords, ...filterArgs],
    caseSensitive: !!opts.caseSensitive,
    keepUnmatched: !!opts.keepUnmatched,
    concurrency: opts.concurrency,
    logLevel: (["error", "info", "debug"] as LogLevel[])[Math.min(opts.verbose, 2)]!,
    rules: opts.rules,
    junit: opts.junit !== undefined,
    skipUnwritable: !!opts.skipUnwritable,
    strict: !!opts.strict,
  };
  const stages = ruleStages(job.rules, job.caseSensitive); // a malformed rule stops the run here
  const version = (opts.flowVersion ??
    (opts.afile ? await inputsVersion([opts.afile]) : null) ??
    (await inputsVersion(paths)) ??
    undefined) as WritableVersion | undefined;
  const outputs: RunOutputs = {
    single: !perInput ? (opts.wfile ?? opts.afile) : undefined,
    append: !!opts.afile,
    outputFor: (path) => mirrored?.get(path) ?? null,
    version,
    format: opts.format,
    warn,
  };

  const unfinished = guardUnfinishedRun();
  let stats!: PipelineStats;
  let damaged!: boolean;
  let counted = (): number => 0;
  const progress = new Progress(paths, () => counted(), opts.quiet);
  const outcomes = opts.junit ? new RunOutcomes() : undefined;
  // worker threads write mitm parts joined at the end: other formats are written by this thread
  const parallel = opts.format === undefined && (outputs.single === undefined || outputFormat(outputs.single) === "mitm");
  try {
    if (opts.jobs > 1 && paths.length > 1 && !paths.includes("-") && parallel) {
      const worker = new URL("./run-worker.js", import.meta.url);
      // loaded only for --jobs: worker_threads costs a run on one thread time to load
      const { runInWorkers } = await import("../pipeline/run-in-workers.js");
      ({ stats, damaged } = await runInWorkers(worker, paths, job, outputs, opts.jobs, outcomes));
    } else {
      const batch = new BatchRun(job, { warn, error: errorLine, print: scriptOutput }, stages, outcomes);
      counted = () => batch.flowsSoFar;
      await batch.start(); // a script that fails to load stops the run before any output
      damaged = await runInputs(batch, paths, outputs);
      stats = batch.stats;
    }
  } finally {
    progress.stop();
    unfinished.finished();
  }
  if (outcomes) await writeWholeFile(opts.junit!, outcomes.xml());

  const s = stats;
  if (!opts.quiet) {
    const secs = ((performance.now() - started) / 1000).toFixed(2);
    info(
      `${s.flowsRead} flow${s.flowsRead === 1 ? "" : "s"} read, ${s.flowsWritten} written, ${job.filterWords.length ? `${s.filteredOut} ${job.keepUnmatched ? "unmatched kept" : "filtered out"}, ` : ""}` +
        `${s.killed} killed, ${s.duplicated} duplicated, ` +
        `${s.scriptErrors} script errors, in ${secs} s`,
    );
  }
  if (damaged) return ExitCode.CORRUPT_INPUT;
  return s.scriptErrors ? ExitCode.FINISHED_WITH_ERRORS : ExitCode.OK;
}
