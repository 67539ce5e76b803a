/** Text for a file or stdout (a listing, JSON Lines), gathered and written a batch of flows at a time. */
import { OutputFile, type OutputOptions } from "./output-file.js";

/** Text queued by `add`, written by `flush`; committed (a file renamed into place) by `close`. */
export class TextOutput {
  private buffered: string[] = [];

  private constructor(private readonly out: OutputFile) {}

  /** Opens `path` (`-` for stdout) as OutputFile does. */
  static async open(path: string, opts: OutputOptions = {}): Promise<TextOutput> {
    return new TextOutput(await OutputFile.open(path, opts));
  }

  /** Queues text. */
  add(text: string): void {
    if (text) this.buffered.push(text);
  }

  /**
   * Writes bytes after the text queued before them, e.g. a JSON line made as bytes. They are
   * copied into the output's batch at once (the caller may reuse its buffer), not queued.
   */
  addBytes(bytes: Uint8Array): Promise<void> | void {
    if (!bytes.length) return;
    if (this.buffered.length) return this.writeQueued().then(() => this.out.write(bytes));
    return this.out.write(bytes);
  }

  /** Writes what was queued. */
  async flush(): Promise<void> {
    await this.writeQueued();
    await this.out.flush();
  }

  private async writeQueued(): Promise<void> {
    if (!this.buffered.length) return;
    const parts = this.buffered;
    this.buffered = [];
    await this.out.write(Buffer.from(parts.join("")));
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
