/**
 * The work of `reflow run` for one thread, composed as a chain: saved flows → filter →
 * scripts → the flow file. The CLI drives one of these, or one per worker with --jobs.
 */
import type { WriteUnsupportedError } from "../errors.js";
import { filterFromWords } from "../filter/index.js";
import { MigrationContext, type WritableVersion } from "../format/migrations/index.js";
import { FlowWriter } from "../io/flow-writer.js";
import { keepDefaultSignalActions } from "../io/temp-files.js";
import { FilterStage } from "./filter-stage.js";
import { FlowChain } from "./flow-chain.js";
import { FlowFileSink, refuseUnwritable } from "./flow-file-sink.js";
import type { PassingFlow } from "./passing-flow.js";
import { Pipeline, type PipelineStats, type StageHooks } from "./pipeline.js";
import type { RunOutcomes } from "./run-outcomes.js";
import { runSavedInputs } from "./saved-flow-source.js";
import type { LogLevel } from "./script.js";
import { HookStage } from "./hook-stage.js";
import { ScriptStage } from "./script-stage.js";
import type { FlowSink, FlowStage } from "./stage.js";
import { StrictStage } from "./strict-stage.js";

/** Everything a thread needs to do the same job as the others (it crosses to workers as data). */
export interface BatchJob {
  scripts: string[];
  filterWords: string[];
  caseSensitive: boolean;
  /** flows the filter does not match go to the output unchanged (no events) instead of being dropped */
  keepUnmatched: boolean;
  concurrency: number;
  logLevel: LogLevel;
  /** collect per-flow outcomes for `run --junit` */
  junit?: boolean;
  /** rewrite rules as given (`{option, text}`), made into stages by whoever runs the job */
  rules?: { option: string; text: string }[];
  /** leave out, with a warning, flows the output version cannot hold (default: refuse them) */
  skipUnwritable?: boolean;
  /** read each flow whole first; a damaged one is reported and left out (exit 3) */
  strict?: boolean;
}

/** What a batch run tells its caller. */
export interface BatchReport {
  warn(m: string): void;
  error(m: string): void;
  /** script logs and script errors (they quote what scripts print) */
  print(text: string): void;
}

/** Scripts and filter, loaded once, run over one input file after another. */
export class BatchRun {
  readonly pipeline: Pipeline;
  private readonly filter: FilterStage | null;
  private readonly hookStages: FlowStage[];
  private readonly migrations = new MigrationContext();
  private flowsRead = 0;
  private flowsWritten = 0;
  /** the chain of the input being read */
  private current: FlowChain | null = null;
  /** --strict: damaged flows are reported and left out before the scripts */
  private readonly strict: StrictStage | null;

  constructor(
    private readonly job: BatchJob,
    private readonly report: BatchReport,
    stages: { name: string; hooks: StageHooks }[] = [],
    private readonly outcomes?: RunOutcomes,
  ) {
    this.pipeline = new Pipeline({ logLevel: job.logLevel, print: report.print });
    if (outcomes) this.pipeline.onScriptError = (flow, script, event, stack) => outcomes.scriptError(flow, script, event, stack);
    // built-in stages (rewrite rules) come before the scripts; they keep no flow, unlike scripts
    this.hookStages = stages.map(
      ({ name, hooks }) => new HookStage(hooks, (event, flow, e) => this.pipeline.reportError(name, event, flow, e)),
    );
    // parsed here too, not passed as an object: a worker gets the expression as words
    const filter = filterFromWords(job.filterWords, { caseSensitive: job.caseSensitive });
    this.filter = filter && new FilterStage(filter, job.keepUnmatched);
    this.strict = job.strict ? new StrictStage((damage) => report.error(`${damage.message}: left out`)) : null;
  }

  get stats(): PipelineStats {
    return {
      ...this.pipeline.stats,
      flowsRead: this.flowsRead,
      flowsWritten: this.flowsWritten,
      filteredOut: this.filter?.unmatched ?? 0,
    };
  }

  /** Loads the scripts (a failure throws ScriptLoadError before any flow) and fires `start`. */
  async start(): Promise<void> {
    // A hook stuck in a loop must not make the process deaf to SIGTERM and SIGINT.
    if (this.job.scripts.length) keepDefaultSignalActions();
    await this.pipeline.loadScripts(this.job.scripts);
    await this.pipeline.start();
  }

  /**
   * Runs every flow of `path` through the filter, then the scripts, into `writer` (none:
   * scripts only). Damage ends this input only: it is reported, the flows before it written.
   * Returns true when the input was damaged.
   */
  async runFile(path: string, writer: FlowWriter | undefined): Promise<boolean> {
    // A saved flow is complete before the scripts run: the filter picks what they see and what
    // is written; unmatched flows pass by with --keep-unmatched (README: "the filter and the scripts").
    // The rewrite rules act on the same flows, just before the scripts.
    const stages: FlowStage[] = [];
    if (this.strict) stages.push(this.strict);
    if (this.filter) stages.push(this.filter);
    stages.push(...this.hookStages);
    if (this.pipeline.scripts.length) stages.push(new ScriptStage(this.pipeline));
    const keepsFlows = stages.some((s) => s.keepsFlows);
    const sink =
      writer &&
      new FlowFileSink(writer, {
        // flows go out from their read buffers: reused buffers must be written before the next batch
        flushEachBatch: keepsFlows ? "none" : "kept",
        closeWriter: false,
        onLeftOut: (flow: PassingFlow, e: WriteUnsupportedError) => this.leaveOut(flow, e),
      });
    const sinks: FlowSink[] = sink ? [sink] : [];
    if (this.outcomes) {
      this.outcomes.startFile(path);
      sinks.push(this.outcomes);
    }
    const chain = new FlowChain(stages, sinks, { concurrency: this.job.concurrency });
    this.current = chain;
    const damaged = await runSavedInputs([path], this.migrations, () => chain, { onDamage: (e) => this.report.error(e.message) });
    await chain.close();
    this.flowsRead += chain.flowsIn;
    this.flowsWritten += sink?.written ?? 0;
    this.current = null;
    return this.strict?.takeDamage() !== undefined || damaged;
  }

  /** A flow the output version cannot hold: refused (the run stops, nothing written) unless --skip-unwritable. */
  private leaveOut(flow: PassingFlow, e: WriteUnsupportedError): void {
    if (!this.job.skipUnwritable) refuseUnwritable(flow, e);
    this.report.warn(`flow ${flow.flow.id} (${flow.flow.type}) left out: ${e.message}`);
  }

  /** How many flows have entered so far (for a progress line). */
  get flowsSoFar(): number {
    return this.flowsRead + (this.current?.flowsIn ?? 0);
  }

  /** Fires `done`. */
  finish(): Promise<void> {
    return this.pipeline.done();
  }
}

/** Where a run's flows go: one output for all inputs, one per input, or none. */
export interface RunOutputs {
  /** the one output (`-a` appends to it), or undefined */
  single?: string;
  append: boolean;
  /** the output of one input when each has its own, else null */
  outputFor(path: string): string | null;
  version: WritableVersion | undefined;
  /** the output format (default: each output's extension, else mitm) */
  format?: string;
  /** told how many flows a format had no place for (HAR holds only HTTP flows) */
  warn?(message: string): void;
}

/**
 * The input loop of `reflow run` in one thread: every input in order through `batch`, into
 * the one output or each input's own. The single output is abandoned (left as it was) when
 * something other than damage stops the run. Returns true when some input was damaged.
 * A new output is private (0600) when the input it is made from is.
 */
export async function runInputs(batch: BatchRun, paths: string[], outputs: RunOutputs): Promise<boolean> {
  let writer: FlowWriter | undefined;
  let damaged = false;
  try {
    const { version, format } = outputs;
    if (outputs.single) writer = await FlowWriter.open(outputs.single, { version, format, append: outputs.append, like: paths[0] });
    for (const path of paths) {
      const own = outputs.outputFor(path);
      const w = own ? await FlowWriter.open(own, { version, format, like: path }) : writer;
      if (await batch.runFile(path, w)) damaged = true;
      if (own) await w!.close();
      const leftOut = w?.leftOutSummary();
      if (leftOut) outputs.warn?.(`${leftOut} flow(s) left out of ${w!.format}: it holds only HTTP flows`);
      w?.leftOut.clear();
    }
    await batch.finish();
    await writer?.close();
  } catch (e) {
    await writer?.abort();
    throw e;
  }
  return damaged;
}
