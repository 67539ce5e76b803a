/**
 * Where flow bytes go: a file replaced atomically (written beside it, renamed into place
 * when complete), a file appended to, or stdout. Writes are batched into large chunks.
 */
import { randomBytes } from "node:crypto";
import { unlinkSync } from "node:fs";
import { type FileHandle, open, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { OutputError } from "../errors.js";

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

/** A sink for flow bytes. `commit` makes the output visible; `abort` throws it away. */
export class OutputFile {
  private batch: Buffer = Buffer.allocUnsafe(BATCH_SIZE);
  /** the other batch buffer, being written out while `batch` fills (double buffering) */
  private spare: Buffer | null = Buffer.allocUnsafe(BATCH_SIZE);
  private pending: Promise<void> | null = null;
  private used = 0;
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
    this.bytesWritten += bytes.length;
    if (bytes.length > BATCH_SIZE - this.used) return this.writeAfterFlush(bytes);
    this.batch.set(bytes, this.used);
    this.used += bytes.length;
  }

  private async writeAfterFlush(bytes: Uint8Array): Promise<void> {
    await this.startFlush();
    if (bytes.length >= BATCH_SIZE) {
      await this.pending;
      return this.writeOut(bytes);
    }
    this.batch.set(bytes, this.used);
    this.used += bytes.length;
  }

  /** Starts writing the full batch in the background and switches to the spare buffer. */
  private async startFlush(): Promise<void> {
    if (this.used === 0) return;
    await this.pending; // at most one batch in flight
    const full = this.batch;
    const chunk = full.subarray(0, this.used);
    this.batch = this.spare!;
    this.used = 0;
    this.spare = null;
    this.pending = this.writeOut(chunk).then(() => {
      this.spare = full;
      this.pending = null;
    });
  }

  /** Writes out everything queued (e.g. after each flow of a live capture). */
  async flush(): Promise<void> {
    await this.startFlush();
    await this.pending;
  }

  private async writeOut(bytes: Uint8Array): Promise<void> {
    if (!this.fh) {
      if (!process.stdout.write(bytes)) await new Promise((r) => process.stdout.once("drain", r));
      return;
    }
    // In the thread pool: with the spare batch filling meanwhile, the copy into the page
    // cache runs beside the parsing instead of between it.
    let off = 0;
    while (off < bytes.length) off += (await this.fh.write(bytes, off, bytes.length - off)).bytesWritten;
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
