/**
 * Where finished live flows go: the positional filter decides, the file gets each flow by
 * a synchronous write, at the end of the event-loop turn it finished in or, for an HTTP
 * exchange, at once before its client has the whole response (`writeQueuedNow`); a hard kill
 * leaves at most one truncated record. The log gets a line.
 *
 * The file is written in place, never through a temp file: it must hold the finished
 * flows while the capture runs, and after a hard kill.
 */
import { writeFile } from "node:fs/promises";
import { OutputError } from "../errors.js";
import type { FlowState } from "../format/flow-record.js";
import type { WritableVersion } from "../format/migrations/index.js";
import type { Filter } from "../filter/index.js";
import type { Flow } from "../model/index.js";
import { FlowWriter } from "../pipeline/flow-writer.js";
import { flowLogLines } from "./flow-log.js";

/** How finished flows are written and shown. */
export interface CaptureOutputOptions {
  /** the flow file (`-` for stdout), or null for none */
  path: string | null;
  append: boolean;
  version: WritableVersion;
  /** only matching flows are written and shown */
  filter: Filter | null;
  /** log detail: 0 none, 1 a line per flow, 2 headers, 3 bodies, 4 uncut */
  detail: number;
  /** where log lines go */
  log: (line: string) => void;
  /** a write that failed (the capture goes on) */
  onWriteError: (e: Error) => void;
}

/** The writer and log stage of the capture. */
export class CaptureOutput {
  /** flows finished in this turn of the event loop, not written yet */
  private queue: FlowState[] = [];
  /** flows written to the file */
  written = 0;

  private constructor(
    private readonly writer: FlowWriter | null,
    private readonly opts: CaptureOutputOptions,
  ) {}

  static async open(opts: CaptureOutputOptions): Promise<CaptureOutput> {
    let writer: FlowWriter | null = null;
    if (opts.path !== null) {
      if (opts.path !== "-") {
        // Appending to a freshly emptied file writes straight into it (no temp file and rename).
        try {
          if (opts.append) await writeFile(opts.path, "", { flag: "a" });
          else await writeFile(opts.path, "");
        } catch (e) {
          // before the proxy listens: one line, exit 2
          const err = e as NodeJS.ErrnoException;
          throw new OutputError(opts.path, err.code === "ENOENT" ? "no such directory" : err.message);
        }
      }
      writer = await FlowWriter.open(opts.path, { version: opts.version, append: opts.path !== "-" });
    }
    return new CaptureOutput(writer, opts);
  }

  /** True when something needs model objects of the flows (a filter or the log). */
  get wantsFlowObjects(): boolean {
    return this.opts.filter !== null || this.opts.detail > 0;
  }

  /** Takes a finished flow: filtered, logged, and written and flushed with the others of this turn. `flow` is needed when `wantsFlowObjects`. */
  add(state: FlowState, flow: Flow | null): void {
    if (flow && this.opts.filter && !this.opts.filter.match(flow)) return;
    if (flow && this.opts.detail > 0) for (const line of flowLogLines(flow, this.opts.detail)) this.opts.log(line);
    const writer = this.writer;
    if (!writer) return;
    this.queue.push(state);
    // All flows finished in this turn of the event loop go out in one write, at its end.
    if (this.queue.length === 1) setImmediate(() => this.writeQueued(writer));
  }

  /**
   * Writes this turn's flows synchronously: a write left to the thread pool lags behind under
   * load, and a hard kill lost the whole backlog (over a hundred flows the clients had).
   */
  private writeQueued(writer: FlowWriter): void {
    const states = this.queue;
    if (!states.length) return;
    this.queue = [];
    try {
      const refused = writer.writeNow(states);
      this.written += states.length - refused.length;
      for (const e of refused) this.opts.onWriteError(e);
    } catch (e) {
      this.opts.onWriteError(e as Error);
    }
  }

  /** Writes the flows queued so far now, not at the end of this event-loop turn. */
  writeQueuedNow(): void {
    if (this.writer) this.writeQueued(this.writer);
  }

  /** Writes what is queued and closes the file. */
  async close(): Promise<void> {
    const writer = this.writer;
    if (!writer) return;
    this.writeQueued(writer);
    await writer.close();
  }
}
