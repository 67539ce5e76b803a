/**
 * An output compressed into one zlib stream on its way to the file (`.zhar`, as mitmproxy
 * writes it): bytes go through Node's streaming deflate, so memory stays flat however
 * much is written.
 */
import { type Deflate, constants, createDeflate } from "node:zlib";
import type { OutputFile } from "../output-file.js";

/** The writing side of an output, plain or compressed. */
export interface ByteOutput {
  write(bytes: Uint8Array): Promise<void> | void;
  flush(): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/** Deflates everything written into `out`. */
export class DeflatedOutput implements ByteOutput {
  private readonly deflate: Deflate = createDeflate({ level: 6 });
  private compressed: Buffer[] = [];
  private failure: Error | undefined;

  constructor(private readonly out: OutputFile) {
    this.deflate.on("data", (c: Buffer) => this.compressed.push(c));
    this.deflate.on("error", (e: Error) => (this.failure = e));
  }

  async write(bytes: Uint8Array): Promise<void> {
    // copied: the caller may reuse its buffer once this returns
    if (!this.deflate.write(Buffer.from(bytes))) await new Promise((r) => this.deflate.once("drain", r));
    await this.passOn();
  }

  private async passOn(): Promise<void> {
    if (this.failure) throw this.failure;
    const chunks = this.compressed;
    this.compressed = [];
    for (const c of chunks) await this.out.write(c);
  }

  async flush(): Promise<void> {
    await new Promise<void>((r) => this.deflate.flush(constants.Z_SYNC_FLUSH, () => r()));
    await this.passOn();
    await this.out.flush();
  }

  async commit(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.deflate.once("end", resolve);
      this.deflate.once("error", reject);
      this.deflate.end();
      this.deflate.resume();
    });
    await this.passOn();
    await this.out.commit();
  }

  async abort(): Promise<void> {
    this.deflate.destroy();
    await this.out.abort();
  }
}
