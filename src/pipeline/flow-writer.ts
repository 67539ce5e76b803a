/**
 * The writer stage: flows into a flow file of any writable format (mitm at one format
 * version, reflow msgpack, HAR, zlib-compressed HAR, JSON Lines), batched, replaced
 * atomically on close. Also the library's `FlowWriter`.
 */
import { readFileSync } from "node:fs";
import { open as openFile } from "node:fs/promises";
import { OutputError } from "../errors.js";
import type { FlowState } from "../format/flow-record.js";
import { type FlowFormat, MSGPACK_MAGIC, outputFormat } from "../format/flow-formats.js";
import type { WritableVersion } from "../format/migrations/index.js";
import { type FlowFileEncoder, flowFileEncoder } from "../io/flow-formats.js";
import { type ByteOutput, DeflatedOutput } from "../io/formats/deflated-output.js";
import { OutputFile } from "../io/output-file.js";
import type { Flow } from "../model/index.js";

export interface FlowWriterOptions {
  /** mitm format version to write; default: that of the first flow written (17–21) */
  version?: WritableVersion;
  /** add to the end of an existing file instead of replacing it (not for HAR) */
  append?: boolean;
  /** the format to write; default: the one the path's extension names (`.har`, `.zhar`, `.msgpack`, `.jsonl`), else mitm */
  format?: FlowFormat | string;
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
  /** flows written so far */
  count = 0;
  /** flows the format has no place for (HAR takes only HTTP flows), by type */
  readonly leftOut = new Map<string, number>();

  private constructor(
    private readonly out: ByteOutput,
    private readonly encoder: FlowFileEncoder,
  ) {}

  static async open(path: string, opts: FlowWriterOptions = {}): Promise<FlowWriter> {
    const format = outputFormat(path, opts.format);
    const encoder = flowFileEncoder(format, {
      version: opts.version,
      creator: format === "har" || format === "zhar" ? creator() : { name: "reflow", version: "" },
    });
    let opening = encoder.opening();
    if (opts.append && path !== "-") {
      const head = await headOf(path, MSGPACK_MAGIC.length);
      if (head.length && (format === "har" || format === "zhar"))
        throw new OutputError(
          path,
          "cannot append to a HAR file (write a new one, or append as mitm, msgpack or jsonl)",
        );
      if (head.length && format === "msgpack") {
        if (!head.equals(MSGPACK_MAGIC))
          throw new OutputError(path, "cannot append msgpack flows: the file is not a reflow msgpack file");
        opening = null; // one header per file
      }
    }
    const file = await OutputFile.open(path, { append: opts.append });
    const out = format === "zhar" ? new DeflatedOutput(file) : file;
    if (opening) await out.write(opening);
    return new FlowWriter(out, encoder);
  }

  /** The format being written. */
  get format(): FlowFormat {
    return this.encoder.format;
  }

  /** The mitm version being written (known once set or once the first flow arrived). */
  get version(): WritableVersion | undefined {
    return this.encoder.version;
  }

  /** Queues one flow; may throw WriteUnsupportedError (e.g. a UDP flow at version 17). */
  write(flow: Flow | FlowState): Promise<void> | void {
    const bytes = this.encoder.encode(flow);
    if (bytes === null) {
      const peeked = "state" in flow ? flow.type : (flow as { type?: unknown }).type;
      const type = typeof peeked === "string" ? peeked : String((flow as FlowState).top().get("type"));
      this.leftOut.set(type, (this.leftOut.get(type) ?? 0) + 1);
      return;
    }
    this.count++;
    return this.out.write(bytes);
  }

  /** The flows left out, as words for a warning (`3 tcp, 1 dns`), or null when none were. */
  leftOutSummary(): string | null {
    if (this.leftOut.size === 0) return null;
    return [...this.leftOut].map(([type, n]) => `${n} ${type}`).join(", ");
  }

  /** Writes everything queued now (the live capture flushes after every flow). */
  flush(): Promise<void> {
    return this.out.flush();
  }

  /** Finishes the file: closes the format, flushes and renames it into place. */
  async close(): Promise<void> {
    const closing = this.encoder.closing();
    if (closing) await this.out.write(closing);
    return this.out.commit();
  }

  /** Gives up: a file being replaced is left as it was. */
  abort(): Promise<void> {
    return this.out.abort();
  }
}
