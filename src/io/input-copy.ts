/**
 * An output made as a copy of its one input by the kernel (libuv's copyfile: copy_file_range
 * or sendfile, in the thread pool), while the normal read frames the same input: a flow the
 * writer would write unchanged is only checked to be the input's next bytes. At the end the
 * copy is cut back to the last flow checked (the read met damage after it) and renamed into
 * place as OutputFile's temp files are. When it cannot stand for what the normal path writes
 * (a flow that would be rewritten, the input changed while read, the copy failed), it throws
 * CopyAbandoned: the caller throws the copy away and writes the output the normal way.
 */
import { closeSync, constants, openSync, readSync, statSync, type Stats } from "node:fs";
import { copyFile, type FileHandle, open, unlink } from "node:fs/promises";
import { sep } from "node:path";
import { OutputError } from "../errors.js";
import { detectFormat } from "../format/flow-formats.js";
import type { RawFlow } from "../format/flow-framer.js";
import { isPipeOrDevice, isRegularFile } from "./file-kind.js";
import { failureMessage, outputTarget, putInPlace, type Replacement, replacementOf } from "./output-file.js";
import { releaseTempFile } from "./temp-files.js";

/** The copy cannot stand for the output: throw it away (abort) and write the output the normal way. */
export class CopyAbandoned extends Error {
  constructor(why: string) {
    super(`copy abandoned: ${why}`);
    this.name = "CopyAbandoned";
  }
}

/** Copies made since the process started (a test's proof that a run took this path). */
export const inputCopyCounts = { started: 0, committed: 0 };

/** See the file's comment. */
export class InputCopy {
  /** the end of the last flow checked: the length the copy is committed at */
  private checked = 0;
  /** the copy running or done: its length */
  private copying: Promise<number> | null = null;
  /** the copy failed: the next flow gives up rather than read the rest of the input for nothing */
  private failed = false;

  private constructor(
    readonly path: string,
    private readonly input: string,
    private readonly replacement: Replacement,
  ) {}

  /**
   * The copy of `input` that is to replace `path`, or null where a copy cannot stand for the
   * normal output: stdin or stdout, an input that is not a regular mitm file, an output that
   * is neither a regular file nor new (the normal path reports any failure to open it).
   */
  static open(path: string, input: string, like?: string): InputCopy | null {
    // a pipe or device is written in place by the normal path (kernel links such as /dev/stdout
    // followed), which also refuses a path ending in /
    if (path === "-" || path.endsWith(sep) || isPipeOrDevice(path) || !isMitmFile(input)) return null;
    let target: string;
    let existing: Stats | undefined;
    try {
      target = outputTarget(path);
      existing = statSync(target, { throwIfNoEntry: false });
    } catch {
      return null;
    }
    if (existing && !existing.isFile()) return null;
    return new InputCopy(path, input, replacementOf(target, existing ?? null, like));
  }

  /**
   * A flow written unchanged: it must be the input's next bytes. The copy starts with the
   * first (a run that gives up at its first flow has copied nothing).
   */
  take(raw: RawFlow): void {
    if (raw.offset !== this.checked) throw new CopyAbandoned(`flow #${raw.index} is not the input's next bytes`);
    if (this.failed) throw new CopyAbandoned("the copy failed");
    this.copying ??= this.startCopy();
    this.checked += raw.bytes.length;
  }

  private startCopy(): Promise<number> {
    const { tempPath } = this.replacement;
    inputCopyCounts.started++;
    // EXCL: libuv truncates a destination that exists, and ext4 writes back a file truncated
    // to nothing when it is closed (auto_da_alloc): ~0.3 s more per GB. The copy gets the
    // input's mode until commit: it holds nothing but the input's bytes.
    const copied = copyFile(this.input, tempPath, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE).then(
      () => statSync(tempPath).size,
    );
    copied.catch(() => (this.failed = true)); // told by commit, or by the next flow taken
    return copied;
  }

  /** Nothing is queued: the copy runs on its own. */
  async flush(): Promise<void> {}

  /** No read buffer is written from. */
  submitKept(): void {}

  /** No read buffer is written from. */
  releaseKept(): void {}

  /**
   * Renames the copy into place, cut back to the flows checked. Throws CopyAbandoned (having
   * changed nothing) when the copy failed or the input's length changed while it was read.
   */
  async commit(): Promise<void> {
    const { tempPath } = this.replacement;
    let fh: FileHandle | undefined;
    if (this.copying === null) {
      // no flow: the normal output is empty, whatever the input holds
      try {
        fh = await open(tempPath, "wx", 0o600);
      } catch (e) {
        throw new CopyAbandoned(failureMessage(e));
      }
    } else {
      let copied: number;
      try {
        copied = await this.copying;
      } catch (e) {
        throw new CopyAbandoned(failureMessage(e));
      }
      const now = statSync(this.input, { throwIfNoEntry: false })?.size;
      if (copied !== now || copied < this.checked) throw new CopyAbandoned(`${this.input} changed while it was read`);
      try {
        fh = await open(tempPath, "r+");
        if (copied > this.checked) await fh.truncate(this.checked); // damage after the last whole flow
      } catch (e) {
        await fh?.close().catch(() => {});
        throw new CopyAbandoned(failureMessage(e));
      }
    }
    try {
      await putInPlace(fh, this.replacement);
    } catch (e) {
      await fh.close().catch(() => {});
      await this.abort();
      throw new OutputError(this.path, failureMessage(e));
    }
    inputCopyCounts.committed++;
  }

  /** Throws the copy away, once it has ended (it creates the temp file: removed before, it would stay). */
  async abort(): Promise<void> {
    await this.copying?.catch(() => {});
    const { tempPath } = this.replacement;
    await unlink(tempPath).catch(() => {});
    releaseTempFile(tempPath);
  }
}

/** True when `path` is a regular file whose first bytes are a mitm file's (or which is empty). */
function isMitmFile(path: string): boolean {
  if (!isRegularFile(path)) return false;
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const head = Buffer.alloc(64);
    return detectFormat(head.subarray(0, readSync(fd, head, 0, head.length, 0))) === "mitm";
  } catch {
    return false; // the normal path reports it
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
