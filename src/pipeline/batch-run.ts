/**
 * The work of `reflow run` for one thread: a pipeline with the scripts loaded and started,
 * fed one input file at a time. The CLI drives one of these, or one per worker with --jobs.
 */
import { FlowReadError, WriteUnsupportedError } from "../errors.js";
import { type Filter, filterFromWords } from "../filter/index.js";
import { FlowRecord } from "../format/flow-record.js";
import { MigrationContext } from "../format/migrations/index.js";
import { readFlows } from "../io/flow-source.js";
import { keepDefaultSignalActions } from "../io/temp-files.js";
import { checkFlow } from "./flow-check.js";
import type { Flow } from "../model/index.js";
import type { FlowWriter } from "./flow-writer.js";
import { Pipeline, type PipelineStats } from "./pipeline.js";
import { runSavedFlows } from "./saved-flows.js";
import type { LogLevel } from "./script.js";

/** Everything a thread needs to do the same job as the others (it crosses to workers as data). */
export interface BatchJob {
  scripts: string[];
  filterWords: string[];
  caseSensitive: boolean;
  keepUnmatched: boolean;
  concurrency: number;
  logLevel: LogLevel;
  /** leave out, with a warning, flows the output version cannot hold (default: refuse them) */
  skipUnwritable?: boolean;
  /** read each flow whole first; a damaged one is reported and left out (exit 3) */
  strict?: boolean;
}

export class BatchRun {
  readonly pipeline: Pipeline;
  private readonly filter: Filter | null;
  private readonly migrations = new MigrationContext();
  private writer: FlowWriter | undefined;
  /** the first flow --strict left out of the current input */
  private strictDamage: FlowReadError | undefined;

  constructor(
    private readonly job: BatchJob,
    private readonly report: { warn(m: string): void; error(m: string): void },
  ) {
    this.pipeline = new Pipeline({ logLevel: job.logLevel });
    // parsed here too, not passed as an object: a worker gets the expression as words
    this.filter = filterFromWords(job.filterWords, { caseSensitive: job.caseSensitive });
  }

  get stats(): PipelineStats {
    return this.pipeline.stats;
  }

  /** Loads the scripts (a failure throws ScriptLoadError before any flow) and fires `start`. */
  async start(): Promise<void> {
    // A hook stuck in a loop must not make the process deaf to SIGTERM and SIGINT.
    if (this.job.scripts.length) keepDefaultSignalActions();
    await this.pipeline.loadScripts(this.job.scripts);
    await this.pipeline.start();
  }

  /**
   * Runs every flow of `path` through the scripts into `writer` (none: scripts only).
   * Damage ends this input only: it is reported and returned, the flows before it written.
   */
  async runFile(path: string, writer: FlowWriter | undefined): Promise<FlowReadError | undefined> {
    this.writer = writer;
    const filter = this.filter;
    try {
      const flows = readFlows(path, this.migrations);
      await runSavedFlows(this.job.strict ? this.soundFlows(flows) : flows, this.pipeline, (f) => this.emit(f), {
        concurrency: this.job.concurrency,
        select: filter ? (flow) => filter.match(flow) : undefined,
        keepUnselected: this.job.keepUnmatched,
      });
    } catch (e) {
      if (!(e instanceof FlowReadError)) throw e;
      this.report.error(e.message);
      return e;
    }
    const damage = this.strictDamage;
    this.strictDamage = undefined;
    return damage;
  }

  /** --strict: the flows that read whole; each damaged one is reported and left out. */
  private async *soundFlows(flows: AsyncIterable<Flow>): AsyncGenerator<Flow> {
    for await (const flow of flows) {
      const damage = flow.state instanceof FlowRecord ? checkFlow(flow.state, flow) : null;
      if (!damage) {
        yield flow;
        continue;
      }
      this.report.error(`${damage.message}: left out`);
      this.strictDamage ??= damage;
    }
  }

  /** Fires `done`. */
  finish(): Promise<void> {
    return this.pipeline.done();
  }

  private emit(flow: Flow): Promise<void> | void {
    if (!this.writer) return;
    try {
      const pending = this.writer.write(flow);
      this.pipeline.stats.flowsWritten++;
      return pending;
    } catch (e) {
      if (!(e instanceof WriteUnsupportedError)) throw e;
      if (!this.job.skipUnwritable) {
        const record = flow.state instanceof FlowRecord ? flow.state : null;
        throw WriteUnsupportedError.refusing(record?.file ?? "<new flow>", record?.raw.index ?? -1, flow.type, e);
      }
      this.report.warn(`flow ${flow.id} (${flow.type}) left out: ${e.message}`);
    }
  }
}
