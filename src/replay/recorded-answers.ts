/**
 * The recording server replay answers from: every HTTP flow with a response, indexed by its
 * request's key, in recorded order. Building the index reads each request's key parts and
 * keeps nothing else of a flow in a mitm file but where it stands: its bytes are read again,
 * and its response made ready to send, only when a request asks for it. (Keeping 168 MB of
 * read buffers alive cost more in garbage collection than the whole index.)
 */
import { closeSync, openSync, readSync } from "node:fs";
import { escapeControl } from "../display/human.js";
import { FlowRecord, type FlowState } from "../format/flow-record.js";
import { MigrationContext } from "../format/migrations/index.js";
import { type TDict, decode, encode } from "../format/tnetstring.js";
import { readFlowRecordBatches } from "../io/flow-source.js";
import { Request } from "../model/index.js";
import { toNumber } from "../model/values.js";
import type { NearestCandidates } from "./nearest-request.js";
import { type RequestKey, requestKey } from "./request-key.js";
import type { MatchSettings } from "./replay-settings.js";

/** A flow as the project's reader hands it out (a FlowRecord for mitm files). */
export type ReadRecord = FlowState & { readonly file: string; readonly raw: { readonly offset: number; readonly index: number } };

/** Where a flow's bytes stand in a file, to read them again. */
interface StoredAt {
  files: OpenFiles;
  offset: number;
  length: number;
}

/** Files read again by position, each opened once. */
class OpenFiles {
  private readonly fds = new Map<string, number>();

  /** `length` bytes of `path` from `offset`. */
  read(path: string, offset: number, length: number): Buffer {
    let fd = this.fds.get(path);
    if (fd === undefined) this.fds.set(path, (fd = openSync(path, "r")));
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, offset + got);
      if (n === 0) throw new Error(`${path} changed while replaying from it (ends before byte ${offset + length})`);
      got += n;
    }
    return buf;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

/** A recorded response (its `response` dict), and when it was recorded (Unix seconds, for --refresh). */
export interface ReadyResponse {
  response: TDict;
  recordedAt: number;
}

/** The response of `state`, ready to send. */
function readyResponse(state: FlowState): ReadyResponse {
  const response = state.entry("response") as TDict;
  return { response, recordedAt: toNumber(response.get("timestamp_start")) ?? 0 };
}

/** A copy of `b` in memory of its own (null stays null). */
function ownBytes(b: Buffer | null): Buffer | null {
  return b && Buffer.from(b);
}

/** `r` in memory of its own (encoded and read back whole): nothing of it views a read buffer the reader reuses. */
function ownCopy(r: ReadyResponse): ReadyResponse {
  return { response: decode(encode(r.response)) as TDict, recordedAt: r.recordedAt };
}

/** What is kept of a flow that is not read again: its response, and its request body for explanations. */
interface KeptFlow {
  ready: ReadyResponse;
  requestBody: Buffer | null;
}

/** One recorded exchange that can answer requests with its key. */
export class RecordedAnswer {
  /** how many times it was served */
  served = 0;
  private ready: ReadyResponse | null;

  constructor(
    readonly key: RequestKey,
    /** method and path (with query) of the recorded request */
    private readonly requestLine: string,
    /** where to read the flow again, or what was kept of it */
    private readonly source: StoredAt | KeptFlow,
    /** where it was recorded: file and flow number */
    readonly file: string,
    readonly flowIndex: number,
  ) {
    this.ready = "ready" in source ? source.ready : null;
  }

  /** The flow, read again from its file. */
  private reread(at: StoredAt): FlowRecord {
    const raw = { bytes: at.files.read(this.file, at.offset, at.length), offset: at.offset, index: this.flowIndex };
    return new FlowRecord(raw, this.file, new MigrationContext());
  }

  /** The recorded request's body, decoded (for explaining a miss). */
  requestBody(): Buffer | null {
    const source = this.source;
    if ("ready" in source) return source.requestBody;
    return new Request(this.reread(source).entry("request") as TDict).getContent(false);
  }

  /** The recorded request as log lines show it (escaped only when shown: most never are). */
  get label(): string {
    return escapeControl(this.requestLine);
  }

  /** The recorded response (read again on first use). */
  response(): ReadyResponse {
    this.ready ??= readyResponse(this.reread(this.source as StoredAt));
    return this.ready;
  }
}

/** The recorded answers of one or more files. */
export class RecordedAnswers implements NearestCandidates {
  /** every answer in recorded order */
  readonly all: RecordedAnswer[] = [];
  /** flows that cannot answer (no response, WebSocket, not HTTP) */
  skipped = 0;
  private readonly byKey = new Map<string, RecordedAnswer[]>();
  /** the first answer of each key, in recorded order, and those by path (where nearest requests are looked for) */
  private readonly firsts: RecordedAnswer[] = [];
  private readonly byPath = new Map<string, RecordedAnswer[]>();
  /** per key, how many of its answers were taken */
  private readonly taken = new Map<string, number>();
  private readonly files = new OpenFiles();

  private constructor(private readonly settings: MatchSettings) {}

  /** Reads `paths` in order through the project's flow reader; damage stops it with the reader's error. */
  static async load(paths: readonly string[], settings: MatchSettings): Promise<RecordedAnswers> {
    const answers = new RecordedAnswers(settings);
    const migrations = new MigrationContext();
    for (const path of paths) {
      // Nothing of a flow read from a file is kept but its key and position: its read buffer can be reused.
      for await (const batch of readFlowRecordBatches(path, migrations, { reuseBuffers: true })) {
        for (const record of batch) answers.add(record, path);
      }
    }
    return answers;
  }

  private add(record: ReadRecord, path: string): void {
    const response = record.entry("type") === "http" ? record.entry("response") : null;
    // A WebSocket handshake cannot be answered without its connection: left out, as flows without a response.
    if (!(response instanceof Map) || record.entry("websocket") !== null) {
      this.skipped++;
      return;
    }
    const request = new Request(record.entry("request") as TDict);
    const { offset, index } = record.raw;
    // A flow of a mitm file that needs no state carried over from the flows before it is read
    // again when asked for; any other (stdin, an old version, other formats) has its response copied now.
    const source: StoredAt | KeptFlow =
      path !== "-" && record instanceof FlowRecord && record.isNative
        ? { files: this.files, offset, length: record.raw.bytes.length }
        : { ready: ownCopy(readyResponse(record)), requestBody: ownBytes(request.getContent(false)) };
    const answer = new RecordedAnswer(requestKey(request, this.settings), `${request.method} ${request.path}`, source, path === "-" ? record.file : path, index);
    this.all.push(answer);
    const list = this.byKey.get(answer.key.text);
    if (list) return void list.push(answer);
    this.byKey.set(answer.key.text, [answer]);
    this.firsts.push(answer);
    const samePath = this.byPath.get(answer.key.path);
    if (samePath) samePath.push(answer);
    else this.byPath.set(answer.key.path, [answer]);
  }

  /**
   * Why nothing recorded can answer requests for `target` (a reverse proxy's, whose requests
   * all go there), or null when something can: a common slip is a recording made in forward
   * mode, or against another port.
   */
  notFor(target: { host: string; port: number }): string | null {
    const count = new Map<string, number>();
    for (const a of this.firsts) {
      const where = `${a.key.host ?? "*"}:${a.key.port ?? "*"}`;
      count.set(where, (count.get(where) ?? 0) + 1);
    }
    const host = this.settings.ignoreHost ? "*" : target.host.toLowerCase();
    const port = this.settings.ignorePort ? "*" : String(target.port);
    if (count.size === 0 || count.has(`${host}:${port}`)) return null;
    const recorded = [...count].sort((x, y) => y[1] - x[1]).map(([where]) => escapeControl(where));
    const shown = recorded.slice(0, 3).join(", ") + (recorded.length > 3 ? ", …" : "");
    return `no recorded request is for ${host}:${port} (recorded: ${shown}); see --ignore-host, --ignore-port`;
  }

  withPath(path: string): readonly RecordedAnswer[] {
    return this.byPath.get(path) ?? [];
  }

  distinct(): readonly RecordedAnswer[] {
    return this.firsts;
  }

  /**
   * The next answer for `key`: its recorded answers in order, each once; when they ran out,
   * null, or the last one again with `reuse`.
   */
  take(key: RequestKey, reuse: boolean): RecordedAnswer | null {
    const list = this.byKey.get(key.text);
    if (!list) return null;
    const n = this.taken.get(key.text) ?? 0;
    if (n < list.length) {
      this.taken.set(key.text, n + 1);
      return list[n]!;
    }
    return reuse ? list[list.length - 1]! : null;
  }

  /** How many answers `key` has recorded. */
  countFor(key: RequestKey): number {
    return this.byKey.get(key.text)?.length ?? 0;
  }

  /** Answers no request asked for, in recorded order. */
  unused(): RecordedAnswer[] {
    return this.all.filter((a) => a.served === 0);
  }

  /** Closes the files answers are read from. */
  close(): void {
    this.files.close();
  }
}
