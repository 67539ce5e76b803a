/** The flow-file writer as a sink: reads only the record, so untouched flows go out as read. */
import { WriteUnsupportedError } from "../errors.js";
import type { FlowWriter } from "../io/flow-writer.js";
import type { PassingFlow } from "./passing-flow.js";
import type { FlowSink } from "./stage.js";

/** How a FlowFileSink treats its writer. */
export interface FlowFileSinkOptions {
  /**
   * What goes out at the end of a batch: "all" (a live capture: every finished flow on disk at
   * once), "kept" (the flows queued from their read buffers, which a reader reusing its
   * buffers needs back), or "none" (the writer writes when it has a batch's worth).
   */
  flushEachBatch: "all" | "kept" | "none";
  /** Close the writer with the chain (not when one writer outlives several chains). */
  closeWriter: boolean;
  /** a flow the format version cannot hold (a UDP flow at version 17): left out, told here */
  onLeftOut(flow: PassingFlow, e: WriteUnsupportedError): void;
  /** a write that failed; when absent the failure ends the chain (the live capture goes on) */
  onWriteError?(e: Error): void;
}

/** Writes every flow that reaches it. */
export class FlowFileSink implements FlowSink {
  readonly reads = "record";
  /** flows written */
  written = 0;

  constructor(
    readonly writer: FlowWriter,
    private readonly opts: FlowFileSinkOptions,
  ) {}

  write(flow: PassingFlow): Promise<void> | void {
    let pending: Promise<void> | void;
    try {
      pending = this.writer.write(flow.state);
    } catch (e) {
      if (e instanceof WriteUnsupportedError) return this.opts.onLeftOut(flow, e);
      if (!this.opts.onWriteError) throw e;
      return this.opts.onWriteError(e as Error);
    }
    this.written++;
    if (pending && this.opts.onWriteError) return pending.catch((e: Error) => this.opts.onWriteError!(e));
    return pending;
  }

  endBatch(): Promise<void> | void {
    const when = this.opts.flushEachBatch;
    if (when === "none") return;
    // "kept": the write starts now and runs while the next batch is framed; the reader's
    // recycler takes back no buffer still being written
    const flushed = when === "all" ? this.writer.flush() : this.writer.submitReadBuffers();
    if (!flushed) return;
    return this.opts.onWriteError ? flushed.catch((e: Error) => this.opts.onWriteError!(e)) : flushed;
  }

  async close(): Promise<void> {
    if (this.opts.closeWriter) await this.writer.close();
  }
}
