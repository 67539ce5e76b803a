/** Text for a file or stdout (a listing, JSON Lines), gathered and written a batch of flows at a time. */
import { OutputFile, type OutputOptions } from "./output-file.js";

/** Text queued by `add`, written by `flush`; committed (a file renamed into place) by `close`. */
export class TextOutput {
  private buffered: (string | Buffer)[] = [];

  private constructor(private readonly out: OutputFile) {}

  /** Opens `path` (`-` for stdout) as OutputFile does. */
  static async open(path: string, opts: OutputOptions = {}): Promise<TextOutput> {
    return new TextOutput(await OutputFile.open(path, opts));
  }

  /** Queues text. */
  add(text: string): void {
    if (text) this.buffered.push(text);
  }

  /** Queues bytes (copied: the caller may reuse its buffer), e.g. a JSON line made as bytes. */
  addBytes(bytes: Uint8Array): void {
    if (bytes.length) this.buffered.push(Buffer.from(bytes));
  }

  /** Writes what was queued. */
  async flush(): Promise<void> {
    if (this.buffered.length) {
      const parts = this.buffered;
      this.buffered = [];
      if (parts.every((p) => typeof p === "string")) await this.out.write(Buffer.from(parts.join("")));
      else for (const p of parts) await this.out.write(typeof p === "string" ? Buffer.from(p) : p);
    }
    await this.out.flush();
  }

  /** Writes the rest and makes the output appear. */
  async close(): Promise<void> {
    await this.flush();
    await this.out.commit();
  }

  /** Gives up: a file being replaced is left as it was. */
  abort(): Promise<void> {
    return this.out.abort();
  }
}
