/**
 * Flows into a mitm file at one format version, beside the reader (flow-source.ts): batched,
 * replaced atomically on close. An unchanged flow at the target version goes out from its
 * read buffer, never copied. Also the library's `FlowWriter`.
 */
import { type FlowState, FlowRecord } from "../format/flow-record.js";
import type { WritableVersion } from "../format/migrations/index.js";
import { MitmEncoder, writableFor } from "../format/mitm-writer.js";
import { OutputFile } from "./output-file.js";
import { Flow } from "../model/index.js";

export interface FlowWriterOptions {
  /** mitm format version to write; default: that of the first flow written (17–21) */
  version?: WritableVersion;
  /** add to the end of an existing file instead of replacing it */
  append?: boolean;
}

/** Writes flows to a mitm file (or `-` for stdout). Call `close()` to make the file appear. */
export class FlowWriter {
  private encoder: MitmEncoder | undefined;
  /** flows written so far */
  count = 0;

  private constructor(
    private readonly out: OutputFile,
    version: WritableVersion | undefined,
  ) {
    if (version) this.encoder = new MitmEncoder(version);
  }

  static async open(path: string, opts: FlowWriterOptions = {}): Promise<FlowWriter> {
    return new FlowWriter(await OutputFile.open(path, { append: opts.append }), opts.version);
  }

  /** The version being written (known once set or once the first flow arrived). */
  get version(): WritableVersion | undefined {
    return this.encoder?.version;
  }

  /**
   * Queues one flow; may throw WriteUnsupportedError (e.g. a UDP flow at version 17). An
   * unchanged flow's bytes are queued where they are read: with `keptUntilFlush`, the caller
   * promises its read buffer stays as it is until `flush()` settled (a reader recycling its
   * buffers); otherwise the flow holds its buffer alive until written.
   */
  write(flow: Flow | FlowState): Promise<void> | void {
    const state = flow instanceof Flow ? flow.state : flow;
    const encoder = (this.encoder ??= new MitmEncoder(writableFor(state instanceof FlowRecord ? state.storedVersion : state.version)));
    this.count++;
    if (encoder.isVerbatim(state)) return this.out.writeKept((state as FlowRecord).raw.bytes);
    return this.out.write(encoder.encode(state));
  }

  /**
   * Starts writing the flows queued from their read buffers: once it settles, a reader that
   * recycles its buffers through ChunkRecycler may go on (it skips those still being written).
   */
  submitReadBuffers(): Promise<void> | void {
    return this.out.submitKept();
  }

  /** Writes out the flows queued from their read buffers: once it settles the reader may reuse them. */
  releaseReadBuffers(): Promise<void> | void {
    return this.out.releaseKept();
  }

  /** Writes everything queued now (the live capture flushes after every flow). */
  flush(): Promise<void> {
    return this.out.flush();
  }

  /** Finishes the file: flushes and renames it into place. */
  close(): Promise<void> {
    return this.out.commit();
  }

  /** Gives up: a file being replaced is left as it was. */
  abort(): Promise<void> {
    return this.out.abort();
  }
}
