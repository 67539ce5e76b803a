/**
 * Flows into a flow file of any writable format, beside the reader (flow-source.ts): mitm
 * at one format version, reflow msgpack, HAR, zlib-compressed HAR or JSON Lines; batched,
 * replaced atomically on close. An unchanged mitm flow at the target version goes out from
 * its read buffer, never copied. Also the library's `FlowWriter`.
 */
import { readFileSync } from "node:fs";
import { open as openFile } from "node:fs/promises";
import { OutputError, WriteUnsupportedError } from "../errors.js";
import { type FlowState, FlowRecord } from "../format/flow-record.js";
import { type FlowFormat, MSGPACK_MAGIC, type MsgpackVersion, msgpackVersionOf, outputFormat } from "../format/flow-formats.js";
import type { WritableVersion } from "../format/migrations/index.js";
import { MitmEncoder, writableFor } from "../format/mitm-writer.js";
import { type FlowFileEncoder, flowFileEncoder } from "./flow-formats.js";
import { DeflatedOutput } from "./formats/deflated-output.js";
import { checkAppendTarget } from "./append-target.js";
import { isRegularFile } from "./file-kind.js";
import { CopyAbandoned, InputCopy } from "./input-copy.js";
import { OutputFile } from "./output-file.js";
import { Flow } from "../model/index.js";

export interface FlowWriterOptions {
  /** mitm format version to write; default: that of the first flow written (17–21) */
  version?: WritableVersion;
  /** add to the end of an existing file instead of replacing it (not for HAR) */
  append?: boolean;
  /** the format to write; default: the one the path's extension names (`.har`, `.zhar`, `.msgpack`, `.jsonl`), else mitm */
  format?: FlowFormat | string;
  /** an input the output is made from: a new output is private (0600) when that input is */
  like?: string;
  /**
   * The one input of a run that writes every flow unchanged (no filter, no script, mitm at
   * the input's version): the output is then made as a kernel copy of it, each flow written
   * only checked (see InputCopy). `write` and `close` throw CopyAbandoned when the copy cannot
   * stand for the output; the caller aborts and starts again without `copyOf`. Ignored where
   * a copy cannot be made (stdin, stdout, appending, another format, a non-regular file).
   */
  copyOf?: string;
}

/** reflow's name and version, for HAR's `log.creator`. */
function creator(): { name: string; version: string } {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return { name: "reflow", version: pkg.version };
}

/** The first bytes of an existing file (empty when it is missing or empty). */
async function headOf(path: string, n: number): Promise<Buffer> {
  try {
    const fh = await openFile(path, "r");
    try {
      const buf = Buffer.alloc(n);
      const { bytesRead } = await fh.read(buf, 0, n, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch {
    return Buffer.alloc(0);
  }
}

/** Writes flows to a flow file (or `-` for stdout). Call `close()` to make the file appear. */
export class FlowWriter {
  private encoder: MitmEncoder | undefined;
  /** flows written so far */
  count = 0;
  /**
   * Unchanged flows go out from their read buffers, never copied (the default). A caller
   * whose reader does not recycle its buffers (flows kept by scripts) turns it off: a read
   * buffer kept until its batch is written outlives young-generation collections, and
   * reclaiming it then costs full ones, more than copying the flow.
   */
  fromReadBuffers = true;
  /** flows the format has no place for (HAR takes only HTTP flows), by type */
  readonly leftOut = new Map<string, number>();

  private constructor(
    private readonly out: OutputFile | InputCopy,
    version: WritableVersion | undefined,
    /** the encoder of a format other than mitm, and where its bytes go (compressed for .zhar) */
    private readonly other?: { encoder: FlowFileEncoder; out: OutputFile | DeflatedOutput },
  ) {
    if (version) this.encoder = new MitmEncoder(version);
  }

  static async open(path: string, opts: FlowWriterOptions = {}): Promise<FlowWriter> {
    const format = outputFormat(path, opts.format);
    const copy = opts.copyOf !== undefined && format === "mitm" && !opts.append ? InputCopy.open(path, opts.copyOf, opts.like) : null;
    if (copy) return new FlowWriter(copy, opts.version);
    if (opts.append && format === "mitm" && isRegularFile(path)) checkAppendTarget(path, format);
    if (format === "mitm") return new FlowWriter(await OutputFile.open(path, { append: opts.append, like: opts.like, binary: true }), opts.version);
    const har = format === "har" || format === "zhar";
    let appendTo: MsgpackVersion | undefined; // the version of a msgpack file appended to
    if (opts.append && isRegularFile(path)) { // a pipe's first bytes cannot be peeked at without taking them
      const head = await headOf(path, MSGPACK_MAGIC.length);
      if (head.length && har)
        throw new OutputError(path, "cannot append to a HAR file (write a new one, or append as mitm, msgpack or jsonl)");
      if (head.length && format === "msgpack") {
        appendTo = msgpackVersionOf(head) ?? undefined;
        if (appendTo === undefined)
          throw new OutputError(path, "cannot append msgpack flows: the file is not a reflow msgpack file this reflow writes");
      }
      if (!har) checkAppendTarget(path, format);
    }
    const encoder = flowFileEncoder(format, {
      version: opts.version,
      creator: har ? creator() : { name: "reflow", version: "" },
      msgpackVersion: appendTo,
    });
    const opening = appendTo === undefined ? encoder.opening() : null; // one header per file
    const binary = format === "msgpack" || format === "zhar";
    const file = await OutputFile.open(path, { append: opts.append, like: opts.like, binary });
    const out = format === "zhar" ? new DeflatedOutput(file) : file;
    if (opening) await out.write(opening);
    return new FlowWriter(file, undefined, { encoder, out });
  }

  /** True when the output is being made as a kernel copy of its input (see `copyOf`). */
  get copying(): boolean {
    return this.out instanceof InputCopy;
  }

  /** The format being written. */
  get format(): FlowFormat {
    return this.other?.encoder.format ?? "mitm";
  }

  /** The mitm version being written (known once set or once the first flow arrived). */
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
    if (this.other) return this.writeOther(flow, state);
    const encoder = (this.encoder ??= new MitmEncoder(writableFor(state instanceof FlowRecord ? state.storedVersion : state.version)));
    this.count++;
    if (this.out instanceof InputCopy) {
      if (!encoder.isVerbatim(state)) throw new CopyAbandoned("a flow is not written as read");
      return this.out.take((state as FlowRecord).raw);
    }
    if (encoder.isVerbatim(state)) {
      const bytes = (state as FlowRecord).raw.bytes;
      return this.fromReadBuffers ? this.out.writeKept(bytes) : this.out.write(bytes);
    }
    return this.out.write(encoder.encode(state));
  }

  /** A flow in a format other than mitm: encoded (copied) at once, or counted as left out. */
  private writeOther(flow: Flow | FlowState, state: FlowState): Promise<void> | void {
    const { encoder, out } = this.other!;
    if (encoder.writeTo && out instanceof OutputFile && this.fromReadBuffers) {
      // an untouched record goes out from its read buffer, as an unchanged mitm flow does
      const pending = encoder.writeTo(flow, out);
      this.count++;
      return pending;
    }
    const bytes = encoder.encode(flow);
    if (bytes === null) {
      const peeked = flow instanceof Flow ? flow.type : (state as { type?: unknown }).type;
      const type = typeof peeked === "string" ? peeked : String(state.top().get("type"));
      this.leftOut.set(type, (this.leftOut.get(type) ?? 0) + 1);
      return;
    }
    this.count++;
    return this.other!.out.write(bytes);
  }

  /** The flows left out, as words for a warning (`3 tcp, 1 dns`), or null when none were. */
  leftOutSummary(): string | null {
    if (this.leftOut.size === 0) return null;
    return [...this.leftOut].map(([type, n]) => `${n} ${type}`).join(", ");
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

  /**
   * Writes `states` to the file now, on this thread, in one write (the live capture: a
   * finished flow must not wait where a hard kill would lose it). A flow this version cannot
   * hold is left out and told to `onRefused` with its WriteUnsupportedError.
   */
  writeNow(states: readonly FlowState[], onRefused: (state: FlowState, e: WriteUnsupportedError) => void): Promise<void> | void {
    // HAR, JSON Lines and msgpack go through their own queue: a HAR file is whole only once closed anyway
    if (this.out instanceof InputCopy) throw new Error("writeNow on an output copied from its input");
    if (this.other) return states.reduce<Promise<void> | void>((prev, s) => (prev ? prev.then(() => this.writeOther(s, s)) : this.writeOther(s, s)), undefined);
    const parts: Buffer[] = [];
    for (const state of states) {
      this.encoder ??= new MitmEncoder(writableFor(state instanceof FlowRecord ? state.storedVersion : state.version));
      try {
        parts.push(Buffer.from(this.encoder.encode(state))); // the encoder's output is valid until its next call
        this.count++;
      } catch (e) {
        if (!(e instanceof WriteUnsupportedError)) throw e;
        onRefused(state, e);
      }
    }
    if (parts.length) this.out.writeNow(parts.length === 1 ? parts[0]! : Buffer.concat(parts));
  }

  /** Writes everything queued now (the live capture flushes after every flow). */
  flush(): Promise<void> {
    return this.other ? this.other.out.flush() : this.out.flush();
  }

  /** Finishes the file: closes the format, flushes and renames it into place. */
  async close(): Promise<void> {
    if (!this.other) return this.out.commit();
    const closing = this.other.encoder.closing();
    if (closing) await this.other.out.write(closing);
    return this.other.out.commit();
  }

  /** Gives up: a file being replaced is left as it was. */
  abort(): Promise<void> {
    return this.other ? this.other.out.abort() : this.out.abort();
  }
}
