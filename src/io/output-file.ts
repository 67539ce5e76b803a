/**
 * Where flow bytes go: a file replaced atomically (written beside it, renamed into place
 * when complete), a file appended to, or stdout. Writes are batched into large chunks.
 */
import { randomBytes } from "node:crypto";
import { unlinkSync } from "node:fs";
import { type FileHandle, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { OutputError } from "../errors.js";
import { markWriting, unmarkWriting } from "./memory-in-flight.js";

const BATCH_SIZE = 1 << 20;

/** Temp files still open: removed if the process is interrupted, so no debris is left. */
const liveTempFiles = new Set<string>();
let signalHandlersInstalled = false;

function installSignalCleanup(): void {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  for (const [sig, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.once(sig, () => {
      for (const p of liveTempFiles) {
        try {
          unlinkSync(p);
        } catch {
          /* already gone */
        }
      }
      process.exit(code);
    });
  }
}

/**
 * A sink for flow bytes. `commit` makes the output visible; `abort` throws it away.
 *
 * Bytes queue up in order as a list of slices and go out in one writev(2) once a batch's
 * worth is queued: bytes the caller may reuse are copied into a batch buffer first; bytes it
 * keeps unchanged (`writeKept`: a flow's bytes in its read buffer) go out from where they
 * are, so an unchanged flow is never copied in this process. While one batch is written in
 * the thread pool, the next fills.
 */
export class OutputFile {
  private batch: Buffer = Buffer.allocUnsafe(BATCH_SIZE);
  /** the other batch buffer, free while `batch` fills (double buffering) */
  private spare: Buffer | null = Buffer.allocUnsafe(BATCH_SIZE);
  private pending: Promise<void> | null = null;
  /** bytes of `batch` used */
  private used = 0;
  /** the slices queued, in output order */
  private queue: Buffer[] = [];
  private queued = 0;
  /** true while the queue holds bytes the caller kept (see writeKept) */
  private holdsKept = false;
  /** true while the batch being written holds kept bytes */
  private writingKept = false;
  /** bytes handed to `write` so far */
  bytesWritten = 0;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle | null, // null = stdout
    private readonly tempPath: string | null,
  ) {}

  /**
   * Opens `path` for writing: `-` is stdout; otherwise a temp file beside `path` that
   * replaces it on commit. With `append`, new flows are added to the end of `path` instead.
   */
  static async open(path: string, opts: { append?: boolean } = {}): Promise<OutputFile> {
    if (path === "-") return new OutputFile(path, null, null);
    try {
      if (opts.append) return new OutputFile(path, await open(path, "a"), null);
      const tempPath = join(
        dirname(path),
        `.${basename(path)}.reflow-${process.pid}-${randomBytes(4).toString("hex")}.tmp`,
      );
      const fh = await open(tempPath, "wx");
      liveTempFiles.add(tempPath);
      installSignalCleanup();
      return new OutputFile(path, fh, tempPath);
    } catch (e) {
      throw new OutputError(path, (e as Error).message);
    }
  }

  /** Queues bytes; they are copied, so the caller may reuse its buffer. */
  write(bytes: Uint8Array): Promise<void> | void {
    if (bytes.length > BATCH_SIZE - this.used) return this.writeAfterFlush(bytes);
    this.batch.set(bytes, this.used);
    this.enqueue(this.batch.subarray(this.used, this.used + bytes.length));
    this.used += bytes.length;
    if (this.queued >= BATCH_SIZE) return this.startFlush();
  }

  /**
   * Queues bytes without copying them: the caller leaves them as they are until the next
   * `flush()` has settled (or the output is committed).
   */
  writeKept(bytes: Buffer): Promise<void> | void {
    this.holdsKept = true;
    this.enqueue(bytes);
    if (this.queued >= BATCH_SIZE) return this.startFlush();
  }

  /** Appends a slice to the queue; one that continues the last slice's memory widens it. */
  private enqueue(bytes: Buffer): void {
    this.bytesWritten += bytes.length;
    this.queued += bytes.length;
    const last = this.queue[this.queue.length - 1];
    if (last && last.buffer === bytes.buffer && last.byteOffset + last.length === bytes.byteOffset)
      this.queue[this.queue.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + bytes.length);
    else this.queue.push(bytes);
  }

  private async writeAfterFlush(bytes: Uint8Array): Promise<void> {
    await this.startFlush();
    if (bytes.length >= BATCH_SIZE) {
      // too large to batch: written before the caller may reuse it
      this.enqueue(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
      return this.flush();
    }
    this.batch.set(bytes, this.used);
    this.enqueue(this.batch.subarray(this.used, this.used + bytes.length));
    this.used += bytes.length;
  }

  /** Starts writing the queue in the background and switches to the spare batch buffer. */
  private async startFlush(): Promise<void> {
    if (this.queued === 0) return;
    await this.pending; // at most one batch in flight
    const slices = this.queue;
    const full = this.batch;
    this.queue = [];
    this.queued = 0;
    this.writingKept = this.holdsKept;
    this.holdsKept = false;
    this.batch = this.spare!;
    this.used = 0;
    this.spare = null;
    this.pending = this.writeOut(slices).then(() => {
      this.spare = full;
      this.pending = null;
      this.writingKept = false;
    });
  }

  /** Writes out everything queued (e.g. after each flow of a live capture). */
  async flush(): Promise<void> {
    await this.startFlush();
    await this.pending;
  }

  /**
   * Writes out what is queued if it holds kept bytes, so that their owner may reuse them once
   * this settles. Copied bytes may stay queued: they wait for a fuller batch.
   */
  releaseKept(): Promise<void> | void {
    if (this.holdsKept) return this.flush();
    if (this.writingKept) return this.pending!;
  }

  /**
   * Starts writing what is queued if it holds kept bytes, without waiting for the write to
   * end: their memory is marked as being written (see memory-in-flight.ts) until it has, so
   * a reader that recycles its buffers through ChunkRecycler may go on at once.
   */
  submitKept(): Promise<void> | void {
    if (this.holdsKept) return this.startFlush();
  }

  private async writeOut(slices: Buffer[]): Promise<void> {
    markWriting(slices);
    try {
      await this.writeSlices([...slices]);
    } finally {
      unmarkWriting(slices);
    }
  }

  private async writeSlices(slices: Buffer[]): Promise<void> {
    if (!this.fh) {
      for (const bytes of slices)
        if (!process.stdout.write(bytes)) await new Promise((r) => process.stdout.once("drain", r));
      return;
    }
    // In the thread pool: the copy into the page cache runs beside the parsing.
    while (slices.length) {
      let n = (await this.fh.writev(slices)).bytesWritten;
      // a short write: go on from where it stopped
      while (slices.length && n >= slices[0]!.length) n -= slices.shift()!.length;
      if (n > 0) slices[0] = slices[0]!.subarray(n);
    }
  }

  /** Flushes and, for a replaced file, renames the temp file over `path`. */
  async commit(): Promise<void> {
    await this.flush();
    if (!this.fh) return;
    await this.fh.close();
    if (this.tempPath) {
      try {
        const st = await stat(this.path).catch(() => null);
        if (st?.isDirectory()) throw new Error("is a directory");
        await rename(this.tempPath, this.path);
      } catch (e) {
        await unlink(this.tempPath).catch(() => {});
        throw new OutputError(this.path, (e as Error).message);
      } finally {
        liveTempFiles.delete(this.tempPath);
      }
    }
  }

  /** Drops the output: a replaced file is left as it was. */
  async abort(): Promise<void> {
    await this.pending?.catch(() => {});
    if (!this.fh) return;
    await this.fh.close().catch(() => {});
    if (this.tempPath) {
      await unlink(this.tempPath).catch(() => {});
      liveTempFiles.delete(this.tempPath);
    }
  }
}

/** Writes a whole report (`--junit`, `--html`) to `path` (`-`: stdout), renamed into place when complete. */
export async function writeWholeFile(path: string, text: string): Promise<void> {
  const out = await OutputFile.open(path);
  try {
    await out.write(Buffer.from(text, "utf8"));
    await out.commit();
  } catch (e) {
    await out.abort();
    throw e;
  }
}
