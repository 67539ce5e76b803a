/** Text for a file or stdout (a listing, JSON Lines), gathered and written a batch of flows at a time. */
import { OutputFile } from "./output-file.js";

/** Text queued by `add`, written by `flush`; committed (a file renamed into place) by `close`. */
export class TextOutput {
  private buffered: string[] = [];

  private constructor(private readonly out: OutputFile) {}

  /** Opens `path` (`-` for stdout) as OutputFile does. */
  static async open(path: string): Promise<TextOutput> {
    return new TextOutput(await OutputFile.open(path));
  }

  /** Queues text. */
  add(text: string): void {
    if (text) this.buffered.push(text);
  }

  /** Writes what was queued. */
  async flush(): Promise<void> {
    if (this.buffered.length) {
      const chunk = Buffer.from(this.buffered.join(""));
      this.buffered = [];
      await this.out.write(chunk);
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
