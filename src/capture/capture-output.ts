/**
 * Where finished live flows go, composed as a chain: filter → the log (the same listing as
 * `show`) and the flow file. The file gets each flow by a synchronous write, at the end of
 * the event-loop turn it finished in or, for an HTTP exchange, at once before its client has
 * the whole response (`writeQueuedNow`); a hard kill leaves at most one truncated record.
 *
 * The file is written in place, never through a temp file: it must hold the finished
 * flows while the capture runs, and after a hard kill.
 */
import { writeFile } from "node:fs/promises";
import { ListingSink } from "../display/listing-sink.js";
import { OutputError } from "../errors.js";
import type { Filter } from "../filter/index.js";
import type { FlowState } from "../format/flow-record.js";
import type { WritableVersion } from "../format/migrations/index.js";
import { FlowWriter } from "../io/flow-writer.js";
import { failureMessage } from "../io/output-file.js";
import type { Flow } from "../model/index.js";
import { FilterStage } from "../pipeline/filter-stage.js";
import { FlowChain } from "../pipeline/flow-chain.js";
import { FlowFileSink } from "../pipeline/flow-file-sink.js";
import { PassingFlow } from "../pipeline/passing-flow.js";
import type { FlowSink } from "../pipeline/stage.js";

/** How finished flows are written and shown. */
export interface CaptureOutputOptions {
  /** the flow file (`-` for stdout), or null for none */
  path: string | null;
  append: boolean;
  version: WritableVersion;
  /** only matching flows are written and shown */
  filter: Filter | null;
  /** log detail: 0 none, 1 a line per flow, 2 headers, 3 bodies, 4 uncut */
  detail: 0 | 1 | 2 | 3 | 4;
  /** colour codes in the log */
  colour: boolean;
  /** where log text goes (whole lines) */
  log: (text: string) => void;
  /** a write that failed (the capture goes on) */
  onWriteError: (e: Error) => void;
  /** a flow the format version cannot hold, left out */
  onLeftOut: (message: string) => void;
}

/** The filter, log and writer stages of the capture. */
export class CaptureOutput {
  /** the pushing of flows that had to wait (a full batch being written): later flows queue behind it */
  private waiting: Promise<void> | null = null;
  private flushQueued = false;

  private constructor(
    private readonly chain: FlowChain,
    private readonly file: FlowFileSink | null,
    private readonly onError: (e: Error) => void,
  ) {}

  static async open(opts: CaptureOutputOptions): Promise<CaptureOutput> {
    const sinks: FlowSink[] = [];
    if (opts.detail > 0)
      sinks.push(new ListingSink({ detail: opts.detail, colour: opts.colour, width: null }, { add: opts.log, flush: () => {}, close: () => {} }));
    let file: FlowFileSink | null = null;
    if (opts.path !== null) {
      if (opts.path !== "-") {
        // Appending to a freshly emptied file writes straight into it (no temp file and rename).
        try {
          if (opts.append) await writeFile(opts.path, "", { flag: "a" });
          else await writeFile(opts.path, "");
        } catch (e) {
          // before the proxy listens: one line, exit 2
          const err = e as NodeJS.ErrnoException;
          const folder = opts.path.endsWith("/") ? "ends in /, so it names a folder: give a file name" : "is a directory";
          throw new OutputError(opts.path, err.code === "ENOENT" ? "no such directory" : err.code === "EISDIR" ? folder : failureMessage(err));
        }
      }
      const writer = await FlowWriter.open(opts.path, { version: opts.version, append: opts.path !== "-" });
      file = new FlowFileSink(writer, {
        flushEachBatch: "now", // synchronous: a write left to the thread pool lags under load, and a hard kill loses the backlog
        closeWriter: true,
        onLeftOut: (flow, e) => opts.onLeftOut(`flow ${flow.flow.id} (${flow.flow.type}) left out: ${e.message}`),
        onWriteError: opts.onWriteError,
      });
      sinks.push(file);
    }
    return new CaptureOutput(new FlowChain(opts.filter ? [new FilterStage(opts.filter)] : [], sinks), file, opts.onWriteError);
  }

  /** Flows written to the file. */
  get written(): number {
    return this.file?.written ?? 0;
  }

  /** True when something needs model objects of the flows (a filter or the log). */
  get wantsFlowObjects(): boolean {
    return !this.chain.readsRecordsOnly;
  }

  /** Takes a finished flow: filtered, logged, and written and flushed with the others of this turn. `flow` is needed when `wantsFlowObjects`. */
  add(state: FlowState, flow: Flow | null): void {
    const passing = new PassingFlow(state, flow);
    this.inTurn(() => this.chain.push(passing));
    // All flows finished in this turn of the event loop go out in one write, at its end.
    if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => {
        this.flushQueued = false;
        this.inTurn(() => this.chain.endBatch());
      });
    }
  }

  /**
   * Writes the flows finished so far now, not at the end of this event-loop turn (an HTTP
   * exchange, before its client has the whole response).
   */
  writeQueuedNow(): void {
    const file = this.file;
    if (file) this.inTurn(() => file.endBatch());
  }

  /** Runs `step` now, or after the steps still waiting: one flow at a time, as the writer's encoding of a flow is valid only until the next. */
  private inTurn(step: () => Promise<void> | void): void {
    const pending = this.waiting ? this.waiting.then(step) : step();
    if (!pending) return;
    const tracked: Promise<void> = pending.catch(this.onError).finally(() => {
      if (this.waiting === tracked) this.waiting = null;
    });
    this.waiting = tracked;
  }

  /** Writes what is queued and closes the file. */
  async close(): Promise<void> {
    while (this.waiting) await this.waiting;
    await this.chain.endBatch();
    await this.chain.close();
  }
}
