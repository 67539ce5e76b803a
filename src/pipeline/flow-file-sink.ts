/** The flow-file writer as a sink: reads only the record, so untouched flows go out as read. */
import { WriteUnsupportedError } from "../errors.js";
import { FlowRecord } from "../format/flow-record.js";
import type { FlowWriter } from "../io/flow-writer.js";
import type { PassingFlow } from "./passing-flow.js";
import type { FlowSink } from "./stage.js";

/** How a FlowFileSink treats its writer. */
export interface FlowFileSinkOptions {
  /**
   * What goes out at the end of a batch: "now" (a live capture: the batch's flows in one
   * synchronous write, so that none waits in memory or in the thread pool where a hard kill
   * would lose it), "kept" (the flows queued from their read buffers, which a reader reusing
   * its buffers needs back), or "none" (the writer writes when it has a batch's worth).
   */
  flushEachBatch: "now" | "kept" | "none";
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
  /** "now": the flows of the batch so far, written at its end */
  private batch: PassingFlow[] = [];

  constructor(
    readonly writer: FlowWriter,
    private readonly opts: FlowFileSinkOptions,
  ) {
    // "none": the reader makes a new buffer for each chunk; unchanged flows are copied out of it
    if (opts.flushEachBatch === "none") writer.fromReadBuffers = false;
  }

  write(flow: PassingFlow): Promise<void> | void {
    if (this.opts.flushEachBatch === "now") {
      this.batch.push(flow);
      return;
    }
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
    if (when === "now") return this.writeBatchNow();
    // "kept": the write starts now and runs while the next batch is framed; the reader's
    // recycler takes back no buffer still being written
    const flushed = this.writer.submitReadBuffers();
    if (!flushed) return;
    return this.opts.onWriteError ? flushed.catch((e: Error) => this.opts.onWriteError!(e)) : flushed;
  }

  /** "now": the batch's flows in one synchronous write (the end of a batch may come early: see endBatch). */
  private writeBatchNow(): void {
    const flows = this.batch;
    if (!flows.length) return;
    this.batch = [];
    const states = flows.map((f) => f.state);
    let refused = 0;
    try {
      this.writer.writeNow(states, (state, e) => {
        refused++;
        this.opts.onLeftOut(flows[states.indexOf(state)]!, e);
      });
    } catch (e) {
      if (!this.opts.onWriteError) throw e;
      return this.opts.onWriteError(e as Error);
    }
    this.written += flows.length - refused;
  }

  async close(): Promise<void> {
    if (this.opts.flushEachBatch === "now") this.writeBatchNow();
    if (this.opts.closeWriter) await this.writer.close();
  }
}

/**
 * The refusal of a flow the output version cannot hold, without --skip-unwritable: the run
 * stops and nothing is written (the error names the flow).
 */
export function refuseUnwritable(flow: PassingFlow, e: WriteUnsupportedError): never {
  const record = flow.state instanceof FlowRecord ? flow.state : null;
  throw WriteUnsupportedError.refusing(record?.file ?? "<new flow>", record?.raw.index ?? -1, record?.type ?? flow.flow.type, e);
}
