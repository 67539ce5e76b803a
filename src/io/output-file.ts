/**
 * Where flow bytes go: a file replaced atomically (written beside it, renamed into place
 * when complete), a file appended to, or stdout. Writes are batched into large chunks.
 *
 * A replaced file keeps its mode (and owner, where permitted); a symlink is written
 * through, the temp file beside its target. Every failure to write, flush or rename is an
 * OutputError naming the output; an append that fails is cut back to where it started.
 */
import { lstatSync, readlinkSync, statSync, type Stats, writeSync } from "node:fs";
import { type FileHandle, open, rename, unlink } from "node:fs/promises";
import { dirname, resolve, sep } from "node:path";
import { isatty } from "node:tty";
import { OutputError } from "../errors.js";
import { markWriting, unmarkWriting } from "./memory-in-flight.js";
import { isPipeOrDevice } from "./file-kind.js";
import { terminalSafeBytes } from "./terminal-text.js";
import { releaseTempFile, removeStaleTempFiles, tempPathFor, trackTempFile } from "./temp-files.js";

const BATCH_SIZE = 1 << 20;

/** Why binary flows are not written to a terminal (as gzip refuses to). */
const TERMINAL = "is a terminal: flow files are binary; write them to a file or a pipe";

/** How an output is opened. */
export interface OutputOptions {
  /** add to the end of the file instead of replacing it */
  append?: boolean;
  /**
   * An input the output is made from: a new output is created private (0600) when that
   * input is readable by its owner only, so a capture with secrets does not become public.
   */
  like?: string;
  /** the bytes are binary (flow files): refused when they would go to a terminal */
  binary?: boolean;
}

/** The file a path finally names: symlinks followed, even to a target that does not exist yet. */
export function outputTarget(path: string): string {
  let p = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    let st: Stats;
    try {
      st = lstatSync(p);
    } catch {
      return p; // a new file
    }
    if (!st.isSymbolicLink()) return p;
    p = resolve(dirname(p), readlinkSync(p));
  }
  throw new OutputError(path, "too many levels of symbolic links");
}

/** True when `path` is a file readable and writable by its owner only. */
function isPrivate(path: string | undefined): boolean {
  if (!path || path === "-") return false;
  try {
    return (statSync(path).mode & 0o077) === 0;
  } catch {
    return false;
  }
}

/** The mode a new (not replaced) output gets: 0600 for a private input, else 0666 less the umask. */
function newFileMode(like: string | undefined): number {
  return isPrivate(like) ? 0o600 : 0o666 & ~process.umask();
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
  /** a background write that failed: thrown by the next write, flush or commit */
  private failure: OutputError | null = null;
  /** bytes of `batch` used */
  private used = 0;
  /** the slices queued, in output order (the last one open in `run*`) */
  private queue: Buffer[] = [];
  /** the last slice queued, while it may still widen: its memory, start and end */
  private runMemory: ArrayBufferLike | null = null;
  private runStart = 0;
  private runEnd = 0;
  private queued = 0;
  /** true while the queue holds bytes the caller kept (see writeKept) */
  private holdsKept = false;
  /** true while the batch being written holds kept bytes */
  private writingKept = false;
  /** bytes handed to `write` so far */
  bytesWritten = 0;
  /** the output is a terminal: text is written as terminalSafeBytes makes it */
  private terminal = false;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle | null, // null = stdout
    private readonly tempPath: string | null,
    /** the file renamed over (replace) or appended to */
    private readonly target: string | null,
    /** replace: the mode, owner and group the file gets; append: null */
    private readonly keep: KeptAttributes | null,
    /** append: the length the file had before, cut back to if the append fails */
    private readonly startLength: number,
    /** a pipe or device written in place: nothing to rename, nothing to cut back */
    private readonly inPlace = false,
  ) {}

  /**
   * Opens `path` for writing: `-` is stdout; otherwise a temp file beside `path` (beside
   * its target if it is a symlink) that replaces it on commit. With `append`, new flows are
   * added to the end of `path` instead.
   */
  static async open(path: string, opts: OutputOptions = {}): Promise<OutputFile> {
    if (path === "-") {
      if (opts.binary && process.stdout.isTTY) throw new OutputError("<stdout>", TERMINAL);
      const out = new OutputFile(path, null, null, null, null, 0);
      out.terminal = Boolean(process.stdout.isTTY);
      return out;
    }
    // `out/` names a folder: renamed to, the file would silently lose the slash and be `out`
    if (path.endsWith(sep)) throw new OutputError(path, "ends in /, so it names a folder: give a file name");
    // A named pipe, /dev/null, /dev/stdout or a process substitution is written where it is:
    // renaming a file over it would replace the device (kernel links such as /dev/fd/N are
    // followed by stat, not by outputTarget).
    if (isPipeOrDevice(path)) return OutputFile.openInPlace(path, opts);
    const target = outputTarget(path);
    let existing: Stats | null = null;
    try {
      existing = statSync(target);
    } catch {
      /* a new file */
    }
    if (existing?.isDirectory()) throw new OutputError(path, "is a directory");
    if (opts.append) {
      let fh: FileHandle | undefined;
      try {
        fh = await open(target, "a", newFileMode(opts.like));
        return new OutputFile(path, fh, null, target, null, (await fh.stat()).size);
      } catch (e) {
        await fh?.close().catch(() => {});
        throw new OutputError(path, failureMessage(e));
      }
    }
    const { tempPath, keep } = replacementOf(target, existing, opts.like);
    try {
      // private while it is written: it may hold what the replaced file protected
      const fh = await open(tempPath, "wx", 0o600);
      return new OutputFile(path, fh, tempPath, target, keep, 0);
    } catch (e) {
      releaseTempFile(tempPath);
      throw new OutputError(path, failureMessage(e));
    }
  }

  private static async openInPlace(path: string, opts: OutputOptions): Promise<OutputFile> {
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, opts.append ? "a" : "w"); // a pipe's open waits for its reader
      const terminal = isatty(fh.fd);
      if (opts.binary && terminal) throw new Error(TERMINAL);
      const out = new OutputFile(path, fh, null, null, null, 0, true);
      out.terminal = terminal;
      return out;
    } catch (e) {
      await fh?.close().catch(() => {});
      throw new OutputError(path, failureMessage(e));
    }
  }

  /** Queues bytes; they are copied, so the caller may reuse its buffer. */
  write(bytes: Uint8Array): Promise<void> | void {
    if (this.failure) throw this.failure;
    if (this.terminal) bytes = terminalSafeBytes(bytes);
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
    if (this.failure) throw this.failure;
    if (this.terminal) return this.write(bytes);
    this.holdsKept = true;
    this.enqueue(bytes);
    if (this.queued >= BATCH_SIZE) return this.startFlush();
  }

  /**
   * Appends a slice to the queue; one that continues the last slice's memory widens it. The
   * last slice stays open as numbers (`run*`) until another begins or the queue goes out:
   * flows framed one after another from a read buffer make one slice, not a view each.
   */
  private enqueue(bytes: Uint8Array): void {
    const length = bytes.length;
    this.bytesWritten += length;
    this.queued += length;
    const memory = bytes.buffer;
    const start = bytes.byteOffset;
    if (memory === this.runMemory && start === this.runEnd) {
      this.runEnd += length;
      return;
    }
    this.closeRun();
    this.runMemory = memory;
    this.runStart = start;
    this.runEnd = start + length;
  }

  /** Puts the open slice on the queue. */
  private closeRun(): void {
    if (this.runMemory === null) return;
    this.queue.push(Buffer.from(this.runMemory, this.runStart, this.runEnd - this.runStart));
    this.runMemory = null;
  }

  private async writeAfterFlush(bytes: Uint8Array): Promise<void> {
    await this.startFlush();
    if (bytes.length >= BATCH_SIZE) {
      // too large to batch: written before the caller may reuse it
      this.enqueue(bytes);
      return this.flush();
    }
    this.batch.set(bytes, this.used);
    this.enqueue(this.batch.subarray(this.used, this.used + bytes.length));
    this.used += bytes.length;
  }

  /** Waits for the batch in flight; rethrows its failure. */
  private async settled(): Promise<void> {
    await this.pending;
    if (this.failure) throw this.failure;
  }

  /** Starts writing the queue in the background and switches to the spare batch buffer. */
  private async startFlush(): Promise<void> {
    if (this.queued === 0) return;
    await this.settled(); // at most one batch in flight
    this.closeRun();
    const slices = this.queue;
    const full = this.batch;
    this.queue = [];
    this.queued = 0;
    this.writingKept = this.holdsKept;
    this.holdsKept = false;
    this.batch = this.spare!;
    this.used = 0;
    this.spare = null;
    // the failure is kept, not left unhandled, until the next call rethrows it
    this.pending = this.writeOut(slices).then(
      () => {
        this.spare = full;
        this.pending = null;
        this.writingKept = false;
      },
      (e: OutputError) => {
        this.failure = e;
        this.pending = null;
        this.writingKept = false;
      },
    );
  }

  /**
   * Writes `bytes` to the file now, on this thread, after anything queued before: a live
   * capture's finished flows must not wait in memory or in the thread pool, where a hard
   * kill would lose them. To stdout through its stream (synchronous for files and pipes).
   */
  writeNow(bytes: Uint8Array): void {
    if (this.failure) throw this.failure;
    if (this.pending || this.queued) throw new Error("writeNow after queued writes: flush them first");
    if (this.terminal) bytes = terminalSafeBytes(bytes);
    this.bytesWritten += bytes.length;
    if (!this.fh) {
      void writeStdout(bytes).catch((e: OutputError) => (this.failure = e));
      return;
    }
    try {
      for (let off = 0; off < bytes.length; ) off += writeSync(this.fh.fd, bytes, off, bytes.length - off);
    } catch (e) {
      throw new OutputError(this.path, failureMessage(e));
    }
  }

  /** Writes out everything queued (e.g. after each flow of a live capture). */
  async flush(): Promise<void> {
    await this.startFlush();
    await this.settled();
  }

  /**
   * Writes out what is queued if it holds kept bytes, so that their owner may reuse them once
   * this settles. Copied bytes may stay queued: they wait for a fuller batch.
   */
  releaseKept(): Promise<void> | void {
    if (this.holdsKept) return this.flush();
    if (this.writingKept) return this.settled();
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
      for (const bytes of slices) await writeStdout(bytes);
      return;
    }
    // In the thread pool: the copy into the page cache runs beside the parsing.
    try {
      while (slices.length) {
        let n = (await this.fh.writev(slices)).bytesWritten;
        // a short write: go on from where it stopped
        while (slices.length && n >= slices[0]!.length) n -= slices.shift()!.length;
        if (n > 0) slices[0] = slices[0]!.subarray(n);
      }
    } catch (e) {
      throw new OutputError(this.path, failureMessage(e));
    }
  }

  /** Flushes and, for a replaced file, renames the temp file over `path`. */
  async commit(): Promise<void> {
    try {
      await this.flush();
    } catch (e) {
      await this.abort();
      throw e;
    }
    if (!this.fh) return;
    const { tempPath, keep } = this;
    try {
      if (tempPath && keep) await putInPlace(this.fh, { tempPath, target: this.target!, keep });
      else await this.fh.close();
    } catch (e) {
      await this.abort();
      throw new OutputError(this.path, failureMessage(e));
    }
  }

  /** Drops the output: a replaced file is left as it was, an appended one cut back to its old length. */
  async abort(): Promise<void> {
    await this.pending;
    if (!this.fh) return;
    if (!this.tempPath && !this.inPlace) await this.fh.truncate(this.startLength).catch(() => {});
    await this.fh.close().catch(() => {});
    if (this.tempPath) {
      await unlink(this.tempPath).catch(() => {});
      releaseTempFile(this.tempPath);
    }
  }
}

/** The mode, owner and group a replaced file's successor gets. */
export interface KeptAttributes {
  mode: number;
  /** -1: a new file, owned by whoever writes it */
  uid: number;
  gid: number;
}

/** A file being replaced: the temp file written beside it, the file renamed over, what it keeps. */
export interface Replacement {
  tempPath: string;
  target: string;
  keep: KeptAttributes;
}

/**
 * The temp path that will replace `target` (`existing`: its stats, null for a new file), and
 * the attributes the result gets; the temp path is tracked from now on, so that a signal that
 * comes as it is made still removes it.
 */
export function replacementOf(target: string, existing: Stats | null, like: string | undefined): Replacement {
  removeStaleTempFiles(target);
  const tempPath = tempPathFor(target);
  trackTempFile(tempPath);
  const keep = existing ? { mode: existing.mode & 0o7777, uid: existing.uid, gid: existing.gid } : { mode: newFileMode(like), uid: -1, gid: -1 };
  return { tempPath, target, keep };
}

/**
 * Gives the temp file (open as `fh`, closed here) the kept mode and owner and renames it over
 * its target; on failure the caller removes it.
 */
export async function putInPlace(fh: FileHandle, { tempPath, target, keep }: Replacement): Promise<void> {
  if (keep.uid !== -1) await fh.chown(keep.uid, keep.gid).catch(() => {}); // only where permitted
  await fh.chmod(keep.mode);
  await fh.close();
  if (statSync(target, { throwIfNoEntry: false })?.isDirectory()) throw new Error("is a directory");
  await rename(tempPath, target);
  releaseTempFile(tempPath);
}

/** A failure's message without Node's errno prefix noise (`ENOSPC: no space left on device, write`). */
export function failureMessage(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code === "string" && typeof err.message === "string")
    return err.message.replace(/^[A-Z]+: /, "").replace(/, (write|open|close|rename|fsync|ftruncate|fchmod|mkdir)( .*)?$/, "");
  return e instanceof Error ? e.message : String(e);
}

/**
 * Writes to stdout. A closed pipe (EPIPE) is left to the CLI's stdout handler, which ends
 * the command as a closed pipe would; any other failure (a full disk behind `> file`) is an
 * OutputError.
 */
function writeStdout(bytes: Uint8Array): Promise<void> {
  return new Promise((resolveWrite, reject) => {
    const fail = (e: NodeJS.ErrnoException): void => {
      if (e.code !== "EPIPE") reject(new OutputError("<stdout>", failureMessage(e)));
    };
    try {
      // the callback runs once the bytes are handed over (or failed): at most one write waits
      process.stdout.write(bytes, (e) => (e ? fail(e) : resolveWrite()));
    } catch (e) {
      fail(e as NodeJS.ErrnoException); // a file as stdout fails synchronously
    }
  });
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
