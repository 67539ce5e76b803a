/**
 * Client replay: every recorded HTTP request sent again (to its recorded server, or to a new
 * base URL, or through an upstream proxy) and written with its new response, in recorded
 * order, `concurrency` requests at a time. As mitmproxy's client replay, the flows keep their
 * ids and are marked `is_replay = "request"`, so `reflow diff old new` pairs them by id or
 * by request.
 */
import { escapeControl } from "../display/human.js";
import { FlowReadError } from "../errors.js";
import { MigrationContext, type WritableVersion } from "../format/migrations/index.js";
import type { TDict } from "../format/tnetstring.js";
import { readFlowRecordBatches } from "../io/flow-source.js";
import { FlowError, Request } from "../model/index.js";
import { hostport } from "../model/url.js";
import { FlowWriter } from "../io/flow-writer.js";
import { requestFromState, responseState, serverConnState } from "../pipeline/live-state.js";
import { unixNow } from "../proxy/clock.js";
import type { HeaderPair, HttpRequestData } from "../proxy/exchange.js";
import { ProxyFailure } from "../proxy/proxy-failure.js";
import type { Endpoint } from "../proxy/proxy-mode.js";
import { RequestSender } from "../proxy/http/request-sender.js";
import type { ReadRecord } from "./recorded-answers.js";

/** Everything client replay was asked for. */
export interface ClientReplaySettings {
  inputs: readonly string[];
  /** where the replayed flows go (`-` for stdout), or null */
  outPath: string | null;
  /** requests in flight at once (1: one after the other) */
  concurrency: number;
  /** the new base URL every request goes to (`-m reverse:URL`), or null for its recorded server */
  target: Endpoint | null;
  /** an HTTP proxy to send through (`-m upstream:URL`), or null */
  upstreamProxy: Endpoint | null;
  insecure: boolean;
  timeoutMs: number;
  /** format version to write; default: the first input flow's */
  version?: WritableVersion;
  /** where failure lines go */
  log: (line: string) => void;
}

/** How a client replay went. */
export interface ClientReplayTally {
  sent: number;
  failed: number;
  /** flows that cannot be sent again (not HTTP, WebSocket, body not recorded): written as recorded */
  skipped: number;
}

/** Why a flow cannot be replayed (mitmproxy's ClientPlayback.check), or null when it can. */
function unreplayable(record: ReadRecord): string | null {
  if (record.entry("type") !== "http") return "not an HTTP flow";
  const request = record.entry("request");
  if (!(request instanceof Map)) return "no request";
  if (request.get("content") === null) return "its request body was not recorded";
  if (record.entry("websocket") !== null) return "a WebSocket flow";
  return null;
}

/**
 * The request as it is to be sent: to the new base URL when there is one (with its Host
 * header), and with a Host header in any case. The flow keeps the request as recorded, so
 * that `diff --by request` pairs it with the original; `server_conn` says where it went.
 */
function outgoing(record: ReadRecord, target: Endpoint | null): HttpRequestData {
  const dict = record.entry("request") as TDict;
  const request = new Request(dict);
  const now = unixNow();
  request.timestampStart = now;
  request.timestampEnd = now;
  const out = requestFromState(dict);
  let host: string | null = request.headers.get("host") ?? null;
  if (target) {
    out.scheme = target.scheme;
    out.host = target.host;
    out.port = target.port;
    host = hostport(target.scheme, target.host, target.port);
  }
  // An HTTP/2 recording has its host in the authority; HTTP/1.1 needs a Host header (RFC 9112 §3.2).
  host ??= request.authority || hostport(request.scheme, request.host, request.port);
  // The Host header in its recorded place (one of them, should there be several), else first.
  const value = Buffer.from(host, "latin1");
  let placed = false;
  out.headers = out.headers.flatMap(([name, v]): HeaderPair[] => {
    if (name.toString("latin1").toLowerCase() !== "host") return [[name, v]];
    if (placed) return [];
    placed = true;
    return [[name, value]];
  });
  if (!placed) out.headers.unshift([Buffer.from("Host"), value]);
  return out;
}

/** Sends one flow's request again and puts the outcome into the flow. */
async function replayOne(record: ReadRecord, sender: RequestSender, s: ClientReplaySettings, tally: ClientReplayTally): Promise<ReadRecord> {
  const top = record.promote();
  const out = outgoing(record, s.target);
  top.set("is_replay", "request");
  try {
    const sent = await sender.send(out);
    top.set("response", responseState(sent.response));
    top.set("error", null);
    top.set("server_conn", serverConnState(sent.server, [out.host, out.port]));
    tally.sent++;
  } catch (e) {
    const failure = e instanceof ProxyFailure ? e : new ProxyFailure("E_UPSTREAM_PROTOCOL", (e as Error).message);
    top.set("response", null);
    top.set("error", FlowError.stateOf({ msg: failure.flowMessage, timestamp: unixNow() }));
    top.set("server_conn", serverConnState(null, [out.host, out.port], failure.message));
    tally.failed++;
    s.log(`${record.file}: flow #${record.raw.index}: ${escapeControl(failure.flowMessage)}`);
  }
  return record;
}

/** Replays every flow of the inputs in order; resolves once the output is complete. */
export async function runClientReplay(s: ClientReplaySettings): Promise<ClientReplayTally> {
  const tally: ClientReplayTally = { sent: 0, failed: 0, skipped: 0 };
  const writer = s.outPath === null ? null : await FlowWriter.open(s.outPath, { version: s.version });
  const sender = new RequestSender({ insecure: s.insecure, timeoutMs: s.timeoutMs, upstreamProxy: s.upstreamProxy });
  // Replays in flight, in recorded order: the oldest is written first, whenever the others end.
  const inFlight: Promise<ReadRecord>[] = [];
  const writeOldest = async (): Promise<void> => {
    const record = await inFlight.shift()!;
    if (writer) await writer.write(record);
  };
  try {
    const migrations = new MigrationContext();
    for (const path of s.inputs) {
      for await (const batch of readFlowRecordBatches(path, migrations)) {
        for (const record of batch) {
          const why = unreplayable(record);
          if (why) {
            // Kept in its place as recorded, so that a diff against the recording sees it unchanged.
            tally.skipped++;
            s.log(`${record.file}: flow #${record.raw.index} not replayed (written as recorded): ${why}`);
            inFlight.push(Promise.resolve(record));
          } else inFlight.push(replayOne(record, sender, s, tally));
          if (inFlight.length >= s.concurrency) await writeOldest();
        }
      }
    }
    while (inFlight.length) await writeOldest();
    await writer?.close();
  } catch (e) {
    if (e instanceof FlowReadError) {
      // Damage in an input: every flow before it is still replayed and written (exit 3 follows).
      while (inFlight.length) await writeOldest();
      await writer?.close();
    } else {
      await Promise.allSettled(inFlight);
      await writer?.abort();
    }
    throw e;
  } finally {
    await sender.close();
  }
  return tally;
}
