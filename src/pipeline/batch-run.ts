/**
 * The work of `reflow run` for one thread: a pipeline with the scripts loaded and started,
 * fed one input file at a time. The CLI drives one of these, or one per worker with --jobs.
 */
import { FlowReadError, WriteUnsupportedError } from "../errors.js";
import { type Filter, filterFromWords } from "../filter/index.js";
import { MigrationContext } from "../format/migrations/index.js";
import { readFlows } from "../io/flow-source.js";
import type { Flow } from "../model/index.js";
import type { FlowWriter } from "./flow-writer.js";
import { Pipeline, type PipelineStats, type StageHooks } from "./pipeline.js";
import { runSavedFlows } from "./saved-flows.js";
import type { RunOutcomes } from "./run-outcomes.js";
import type { LogLevel } from "./script.js";

/** Everything a thread needs to do the same job as the others (it crosses to workers as data). */
export interface BatchJob {
  scripts: string[];
  filterWords: string[];
  caseSensitive: boolean;
  keepUnmatched: boolean;
  concurrency: number;
  logLevel: LogLevel;
  /** collect per-flow outcomes for `run --junit` */
  junit?: boolean;
  /** rewrite rules as given (`{option, text}`), made into stages by whoever runs the job */
  rules?: { option: string; text: string }[];
}

export class BatchRun {
  readonly pipeline: Pipeline;
  private readonly filter: Filter | null;
  private readonly migrations = new MigrationContext();
  private writer: FlowWriter | undefined;

  constructor(
    private readonly job: BatchJob,
    private readonly report: { warn(m: string): void; error(m: string): void },
    stages: { name: string; hooks: StageHooks }[] = [],
    private readonly outcomes?: RunOutcomes,
  ) {
    this.pipeline = new Pipeline({ logLevel: job.logLevel });
    if (outcomes) this.pipeline.onScriptError = (flow, script, event, stack) => outcomes.scriptError(flow, script, event, stack);
    for (const stage of stages) this.pipeline.addStage(stage.name, stage.hooks);
    // parsed here too, not passed as an object: a worker gets the expression as words
    this.filter = filterFromWords(job.filterWords, { caseSensitive: job.caseSensitive });
  }

  get stats(): PipelineStats {
    return this.pipeline.stats;
  }

  /** Loads the scripts (a failure throws ScriptLoadError before any flow) and fires `start`. */
  async start(): Promise<void> {
    await this.pipeline.loadScripts(this.job.scripts);
    await this.pipeline.start();
  }

  /**
   * Runs every flow of `path` through the scripts into `writer` (none: scripts only).
   * Damage ends this input only: it is reported and returned, the flows before it written.
   */
  async runFile(path: string, writer: FlowWriter | undefined): Promise<FlowReadError | undefined> {
    this.writer = writer;
    this.outcomes?.startFile(path);
    const filter = this.filter;
    try {
      await runSavedFlows(readFlows(path, this.migrations), this.pipeline, (f) => this.emit(f), {
        concurrency: this.job.concurrency,
        select: filter ? (flow) => filter.match(flow) : undefined,
        keepUnselected: this.job.keepUnmatched,
      });
    } catch (e) {
      if (!(e instanceof FlowReadError)) throw e;
      this.report.error(e.message);
      return e;
    }
    return undefined;
  }

  /** Fires `done`. */
  finish(): Promise<void> {
    return this.pipeline.done();
  }

  private emit(flow: Flow): Promise<void> | void {
    this.outcomes?.flowDone(flow);
    if (!this.writer) return;
    try {
      const pending = this.writer.write(flow);
      this.pipeline.stats.flowsWritten++;
      return pending;
    } catch (e) {
      if (!(e instanceof WriteUnsupportedError)) throw e;
      this.report.warn(`flow ${flow.id} (${flow.type}) left out: ${e.message}`);
    }
  }
}
