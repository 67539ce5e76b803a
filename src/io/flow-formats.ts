/**
 * The format registry's upper half: a reader and a writer per format of
 * `format/flow-formats.ts`. Readers turn an opened input into batches of flows (mitm is
 * read by flow-source.ts itself); encoders turn flows into a file's bytes, with what opens
 * and closes the file. HAR and JSON Lines need the flow model, hence here and not in format/.
 */
import { Readable } from "node:stream";
import { createInflate } from "node:zlib";
import { FlowReadError } from "../errors.js";
import { type FlowState, FlowRecord } from "../format/flow-record.js";
import type { FlowFormat } from "../format/flow-formats.js";
import { MSGPACK_NEWEST, type MsgpackVersion, msgpackMagic } from "../format/flow-formats.js";
import { harEntries } from "../format/har-entries.js";
import { LoadedFlow, type ReadFlow } from "../format/loaded-flow.js";
import type { WritableVersion } from "../format/migrations/index.js";
import { MitmEncoder, writableFor } from "../format/mitm-writer.js";
import {
  PackedDict,
  encodeMsgpackRecord,
  MsgpackRecordWriter,
  frameMsgpackRecords,
  MSGPACK_LENGTH_BYTES,
} from "../format/msgpack-codec.js";
import { type Flow, flowFromState } from "../model/index.js";
import { harEntryToFlowState } from "./formats/har-reader.js";
import { BODY_PLACEHOLDER, HAR_CLOSING, HarEntryMaker, harOpening } from "./formats/har-writer.js";
import { jsonLines, jsonToFlowState } from "./formats/jsonl-reader.js";
import { JsonLineEncoder } from "./formats/jsonl-line-encoder.js";
import { JsonTextBytes } from "./formats/json-text-bytes.js";
import type { FlowInput } from "./input.js";

/** The flows of an opened input of any format but mitm, in batches. */
export async function* readOtherFormat(
  input: FlowInput,
  release?: (chunk: Buffer) => void,
): AsyncGenerator<ReadFlow[]> {
  const { name } = input;
  switch (input.format) {
    case "msgpack": {
      const header: { version?: MsgpackVersion } = {};
      for await (const records of frameMsgpackRecords(input.chunks, name, input.size, release, header)) {
        const version = header.version!;
        yield records.map(
          (r) =>
            new LoadedFlow(
              () => PackedDict.read(r.bytes, version, MSGPACK_LENGTH_BYTES),
              name,
              { offset: r.offset, index: r.index },
              null,
              r.bytes,
              version,
            ),
        );
      }
      return;
    }
    case "har":
    case "zhar":
      yield* loaded(
        input.format === "zhar"
          ? harEntries(inflated(input.chunks, name), name)
          : harEntries(input.chunks, name, release),
        name,
        harEntryToFlowState,
      );
      return;
    case "jsonl":
      yield* loaded(
        (async function* () {
          for await (const lines of jsonLines(input.chunks, release)) {
            const parsed: { value: unknown; offset: number; index: number }[] = [];
            try {
              for (const line of lines) parsed.push(parseLine(name, line));
            } catch (e) {
              if (parsed.length) yield parsed; // every line before the broken one
              throw e;
            }
            yield parsed;
          }
        })(),
        name,
        jsonToFlowState,
      );
      return;
    case "mitm":
      throw new Error("mitm input is read by flow-source.ts");
  }
}

/** A line parsed as JSON; a broken one is damage at its offset. */
function parseLine(file: string, line: { text: string; offset: number; index: number }) {
  try {
    return { value: JSON.parse(line.text) as unknown, offset: line.offset, index: line.index };
  } catch (e) {
    throw new FlowReadError(
      "E_FLOW_CORRUPT",
      file,
      line.offset,
      line.index,
      `not a JSON Lines flow: ${(e as Error).message}`,
    );
  }
}

/** Flows made at once from parsed items (a broken item ends the input after the flows before it). */
async function* loaded(
  items: AsyncIterable<{ value: unknown; offset: number; index: number }[]>,
  file: string,
  make: (value: unknown, index: number) => ReturnType<typeof harEntryToFlowState>,
): AsyncGenerator<ReadFlow[]> {
  const it = items[Symbol.asyncIterator]();
  try {
    yield* loadedBatches(it, file, make);
  } finally {
    await it.return?.(); // closes the input when the reader stops early
  }
}

/** flows made from parsed items before they are handed on */
const FLOWS_MADE_AT_ONCE = 16;

async function* loadedBatches(
  it: AsyncIterator<{ value: unknown; offset: number; index: number }[]>,
  file: string,
  make: (value: unknown, index: number) => ReturnType<typeof harEntryToFlowState>,
): AsyncGenerator<ReadFlow[]> {
  for (;;) {
    let r: IteratorResult<{ value: unknown; offset: number; index: number }[]>;
    try {
      r = await it.next();
    } catch (e) {
      throw e instanceof FlowReadError ? e : new FlowReadError("E_FLOW_CORRUPT", file, 0, 0, (e as Error).message);
    }
    if (r.done) return;
    const items = r.value;
    // A few flows at a time, made and written before the next are made: the fewer are alive
    // at once, the fewer outlive two young-generation collections, which move them to the
    // old generation (garbage there until a full collection; a 1 GB HAR import peaked ~20 MB higher).
    for (let from = 0; from < items.length; from += FLOWS_MADE_AT_ONCE) {
      const flows: ReadFlow[] = [];
      try {
        for (let i = from; i < Math.min(items.length, from + FLOWS_MADE_AT_ONCE); i++) {
          const item = items[i]!;
          items[i] = undefined!; // the parsed item goes once its flow is made
          const flow = new LoadedFlow(() => make(item.value, item.index), file, {
            offset: item.offset,
            index: item.index,
          });
          flow.top(); // made now: damage shows here, in file order
          flows.push(flow);
        }
      } catch (e) {
        if (flows.length) yield flows; // every flow before the damage
        throw e;
      }
      yield flows;
      // every generator between here and the consumer keeps its last batch until the next one
      flows.length = 0;
    }
  }
}

/** The bytes of a zlib stream, inflated as they come; a cut or broken stream is damage. */
async function* inflated(chunks: AsyncIterable<Buffer>, file: string): AsyncGenerator<Buffer> {
  let out = 0;
  try {
    for await (const c of Readable.from(chunks).pipe(createInflate()) as AsyncIterable<Buffer>) {
      out += c.length;
      yield c;
    }
  } catch (e) {
    throw new FlowReadError(
      "E_FLOW_TRUNCATED",
      file,
      out,
      0,
      `compressed HAR: ${(e as Error).message} (offset counts inflated bytes)`,
    );
  }
}

/** Where an encoder's bytes go (an OutputFile). */
export interface ByteSink {
  /** takes `bytes` now (a copy): the caller may reuse them once this returns, or once its promise settles */
  write(bytes: Uint8Array): Promise<void> | void;
  /** takes `bytes` as they are: their memory must not change until written (a flow's read buffer) */
  writeKept(bytes: Buffer): Promise<void> | void;
}

/** Turns flows into one format's bytes. */
export interface FlowFileEncoder {
  readonly format: FlowFormat;
  /** the mitm version being written, once known */
  readonly version: WritableVersion | undefined;
  /** what opens a new file, or null */
  opening(): Buffer | null;
  /** a flow's bytes (a view valid until the next call), or null when the format has no place for it */
  encode(flow: Flow | FlowState): Uint8Array | null;
  /**
   * Writes a flow's bytes to `sink`, where the format can hand out what was read as it is
   * (then used instead of `encode`).
   */
  writeTo?(flow: Flow | FlowState, sink: ByteSink): Promise<void> | void;
  /** what closes the file, or null */
  closing(): Buffer | null;
}

const stateOf = (flow: Flow | FlowState): FlowState => ("state" in flow ? flow.state : flow);
const modelOf = (flow: Flow | FlowState): Flow => ("state" in flow ? flow : flowFromState(flow));

/** `e` named with the flow's file and place when it came from one. */
function named(flow: FlowState, e: unknown): unknown {
  return "error" in flow && typeof (flow as ReadFlow).error === "function" ? (flow as ReadFlow).error(e) : e;
}

class MitmFileEncoder implements FlowFileEncoder {
  readonly format = "mitm";
  private encoder: MitmEncoder | undefined;

  constructor(version: WritableVersion | undefined) {
    if (version) this.encoder = new MitmEncoder(version);
  }

  get version(): WritableVersion | undefined {
    return this.encoder?.version;
  }

  opening(): null {
    return null;
  }

  encode(flow: Flow | FlowState): Uint8Array {
    const state = stateOf(flow);
    this.encoder ??= new MitmEncoder(writableFor(state instanceof FlowRecord ? state.storedVersion : state.version));
    return this.encoder.encode(state);
  }

  closing(): null {
    return null;
  }
}

class MsgpackFileEncoder implements FlowFileEncoder {
  readonly format = "msgpack";
  readonly version = undefined;
  private readonly records = new MsgpackRecordWriter();

  /** @param packVersion the reflow msgpack version written (1 only to append to a version-1 file) */
  constructor(private readonly packVersion: MsgpackVersion) {}

  opening(): Buffer {
    return msgpackMagic(this.packVersion);
  }

  /** A record read from a msgpack file of the version written and never looked at: its bytes. */
  private verbatim(state: FlowState): Buffer | null {
    return state instanceof LoadedFlow && state.packed && !state.touched && state.packedVersion === this.packVersion
      ? state.packed
      : null;
  }

  encode(flow: Flow | FlowState): Uint8Array {
    const state = stateOf(flow);
    const verbatim = this.verbatim(state);
    if (verbatim) return verbatim;
    try {
      const top = state.promote();
      return this.packVersion >= 2 ? this.records.encode(top) : encodeMsgpackRecord(top, this.packVersion);
    } catch (e) {
      throw named(state, e);
    }
  }

  writeTo(flow: Flow | FlowState, sink: ByteSink): Promise<void> | void {
    // an untouched record goes out from where it was read, never copied
    const verbatim = this.verbatim(stateOf(flow));
    return verbatim ? sink.writeKept(verbatim) : sink.write(this.encode(flow));
  }

  closing(): null {
    return null;
  }
}

/** the placeholder of a response text written from its bytes, as JSON.stringify writes it */
const PLACEHOLDER_JSON = JSON.stringify(BODY_PLACEHOLDER);

class HarFileEncoder implements FlowFileEncoder {
  readonly version = undefined;
  private readonly maker = new HarEntryMaker();
  private entries = 0;
  /** an entry with its body written from bytes: a view into this is valid until the next entry */
  private readonly text = new JsonTextBytes();

  constructor(
    readonly format: "har" | "zhar",
    private readonly creator: { name: string; version: string },
  ) {}

  opening(): Buffer {
    return Buffer.from(harOpening(this.creator));
  }

  encode(flow: Flow | FlowState): Uint8Array | null {
    let made;
    try {
      made = this.maker.entryWithBody(modelOf(flow));
    } catch (e) {
      throw named(stateOf(flow), e);
    }
    if (made === null) return null;
    const before = this.entries++ ? ",\n" : "";
    const json = JSON.stringify(made.entry);
    if (made.body) {
      const at = json.indexOf(PLACEHOLDER_JSON);
      if (at >= 0 && json.indexOf(PLACEHOLDER_JSON, at + 1) < 0)
        return this.withBody(before + json, before.length + at, made.body, made.base64);
      // the placeholder's text is in the entry elsewhere too: the body as text after all
      (made.entry.response as { content: { text: string } }).content.text = made.body.toString(made.base64 ? "base64" : "utf8");
      return Buffer.from(before + JSON.stringify(made.entry));
    }
    return Buffer.from(before + json);
  }

  /** `json` with the body's bytes (or their base64) written as a JSON string where its placeholder is, at `at`. */
  private withBody(json: string, at: number, body: Buffer, base64: boolean): Buffer {
    const out = this.text;
    out.reset();
    out.json(json.slice(0, at));
    if (base64) out.base64String(body);
    else out.utf8String(body);
    out.json(json.slice(at + PLACEHOLDER_JSON.length));
    return out.bytes();
  }

  closing(): Buffer {
    return Buffer.from(HAR_CLOSING);
  }
}

class JsonLinesFileEncoder implements FlowFileEncoder {
  readonly format = "jsonl";
  readonly version = undefined;
  private readonly lines = new JsonLineEncoder();

  opening(): null {
    return null;
  }

  encode(flow: Flow | FlowState): Uint8Array {
    try {
      return this.lines.encode(modelOf(flow));
    } catch (e) {
      throw named(stateOf(flow), e);
    }
  }

  closing(): null {
    return null;
  }
}

/** The encoder for `format`; `version` is the mitm version (default: the first flow's). */
export function flowFileEncoder(
  format: FlowFormat,
  opts: { version?: WritableVersion; creator: { name: string; version: string }; msgpackVersion?: MsgpackVersion },
): FlowFileEncoder {
  switch (format) {
    case "mitm":
      return new MitmFileEncoder(opts.version);
    case "msgpack":
      return new MsgpackFileEncoder(opts.msgpackVersion ?? MSGPACK_NEWEST);
    case "har":
    case "zhar":
      return new HarFileEncoder(format, opts.creator);
    case "jsonl":
      return new JsonLinesFileEncoder();
  }
}
