/**
 * The work of `reflow run` for one thread, composed as a chain: saved flows → scripts →
 * filter → the flow file. The CLI drives one of these, or one per worker with --jobs.
 */
import type { WriteUnsupportedError } from "../errors.js";
import { filterFromWords } from "../filter/index.js";
import { MigrationContext, type WritableVersion } from "../format/migrations/index.js";
import { FlowWriter } from "../io/flow-writer.js";
import { FilterStage } from "./filter-stage.js";
import { FlowChain } from "./flow-chain.js";
import { FlowFileSink } from "./flow-file-sink.js";
import type { PassingFlow } from "./passing-flow.js";
import { Pipeline, type PipelineStats, type StageHooks } from "./pipeline.js";
import type { RunOutcomes } from "./run-outcomes.js";
import { runSavedInputs } from "./saved-flow-source.js";
import type { LogLevel } from "./script.js";
import { HookStage } from "./hook-stage.js";
import { ScriptStage } from "./script-stage.js";
import type { FlowSink, FlowStage } from "./stage.js";

/** Everything a thread needs to do the same job as the others (it crosses to workers as data). */
export interface BatchJob {
  scripts: string[];
  filterWords: string[];
  caseSensitive: boolean;
  concurrency: number;
  logLevel: LogLevel;
  /** collect per-flow outcomes for `run --junit` */
  junit?: boolean;
  /** rewrite rules as given (`{option, text}`), made into stages by whoever runs the job */
  rules?: { option: string; text: string }[];
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
    this.filter = filter && new FilterStage(filter);
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
    await this.pipeline.loadScripts(this.job.scripts);
    await this.pipeline.start();
  }

  /**
   * Runs every flow of `path` through the scripts, then the filter, into `writer` (none:
   * scripts only). Damage ends this input only: it is reported, the flows before it written.
   * Returns true when the input was damaged.
   */
  async runFile(path: string, writer: FlowWriter | undefined): Promise<boolean> {
    // Scripts see every flow; the filter then picks what is written (README: "the filter and the scripts").
    const stages: FlowStage[] = [...this.hookStages];
    if (this.pipeline.scripts.length) stages.push(new ScriptStage(this.pipeline));
    if (this.filter) stages.push(this.filter);
    const keepsFlows = stages.some((s) => s.keepsFlows);
    const sink =
      writer &&
      new FlowFileSink(writer, {
        // flows go out from their read buffers: reused buffers must be written before the next batch
        flushEachBatch: keepsFlows ? "none" : "kept",
        closeWriter: false,
        onLeftOut: (flow: PassingFlow, e: WriteUnsupportedError) =>
          this.report.warn(`flow ${flow.flow.id} (${flow.flow.type}) left out: ${e.message}`),
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
    return damaged;
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
 */
export async function runInputs(batch: BatchRun, paths: string[], outputs: RunOutputs): Promise<boolean> {
  let writer: FlowWriter | undefined;
  let damaged = false;
  try {
    const { version, format } = outputs;
    if (outputs.single) writer = await FlowWriter.open(outputs.single, { version, format, append: outputs.append });
    for (const path of paths) {
      const own = outputs.outputFor(path);
      const w = own ? await FlowWriter.open(own, { version, format }) : writer;
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
