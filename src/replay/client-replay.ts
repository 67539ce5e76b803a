/**
 * Client replay: every recorded HTTP request sent again (to its recorded server, or to a new
 * base URL, or through an upstream proxy) and written with its new response, in recorded
 * order, `concurrency` requests at a time. As mitmproxy's client replay, the flows keep their
 * ids and are marked `is_replay = "request"`, so `reflow diff old new` pairs them by id or
 * by request.
 */
import { domainToASCII } from "node:url";
import { escapeControl } from "../display/human.js";
import { FlowReadError } from "../errors.js";
import { MigrationContext, type WritableVersion } from "../format/migrations/index.js";
import { RESPONSE, inKeyOrder } from "../format/migrations/key-orders.js";
import type { TDict, TValue } from "../format/tnetstring.js";
import { readFlowRecordBatches } from "../io/flow-source.js";
import { type Flow, FlowError, type HTTPFlow, Request, flowFromState } from "../model/index.js";
import { hostport } from "../model/url.js";
import { bytesOf, toFloatValue } from "../model/values.js";
import { FlowWriter } from "../io/flow-writer.js";
import type { StageHooks } from "../pipeline/pipeline.js";
import { unixNow } from "../proxy/clock.js";
import type { ServerConnectionInfo } from "../proxy/connection-info.js";
import type { HeaderPair, HttpRequestData, HttpResponseData } from "../proxy/exchange.js";
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
  /** built-in stages (rewrite rules): on each request before it is sent, on each response when it is in */
  stages?: readonly { name: string; hooks: StageHooks }[];
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
  // Connections need the ASCII (IDNA) form of a Unicode host name.
  const recordedHost = /^[\x00-\x7f]*$/.test(request.host) ? request.host : domainToASCII(request.host) || request.host;
  let host: string | null = request.headers.get("host") ?? null;
  if (target) host = hostport(target.scheme, target.host, target.port);
  // An HTTP/2 recording has its host in the authority; HTTP/1.1 needs a Host header (RFC 9112 §3.2).
  host ??= request.authority || hostport(request.scheme, recordedHost, request.port);
  // The Host header in its recorded place (one of them, should there be several), else first.
  const value = Buffer.from(host, "latin1");
  let placed = false;
  const headers = request.headers.fields.flatMap(([name, v]): HeaderPair[] => {
    if (name.toString("latin1").toLowerCase() !== "host") return [[name, v]];
    if (placed) return [];
    placed = true;
    return [[name, value]];
  });
  if (!placed) headers.unshift([Buffer.from("Host"), value]);
  return {
    method: bytesOf(dict.get("method")).toString("latin1"),
    scheme: target?.scheme ?? (request.scheme.toLowerCase() === "https" ? "https" : "http"),
    host: target?.host ?? recordedHost,
    port: target?.port ?? request.port,
    authority: "",
    path: bytesOf(dict.get("path")).toString("latin1") || "/",
    httpVersion: request.httpVersion,
    headers,
    content: request.rawContent,
    trailers: null,
    timestampStart: now,
    timestampEnd: now,
  };
}

/** A new response as the flow's `response` dict (version 21). */
function responseState(r: HttpResponseData): TDict {
  const pairs = (h: HeaderPair[]): TValue[] => h.map(([n, v]) => [n, v]);
  return inKeyOrder(RESPONSE, {
    http_version: Buffer.from(r.httpVersion, "latin1"),
    headers: pairs(r.headers),
    content: r.content,
    trailers: r.trailers && pairs(r.trailers),
    timestamp_start: toFloatValue(r.timestampStart),
    timestamp_end: r.timestampEnd === null ? null : toFloatValue(r.timestampEnd),
    status_code: r.statusCode,
    reason: r.reason,
  });
}

/** The recorded `server_conn` made to say where the request went this time (TLS details stay as recorded). */
function sentTo(record: ReadRecord, address: [string, number], server: ServerConnectionInfo | null, error: string | null): void {
  const conn = record.entry("server_conn");
  if (!(conn instanceof Map)) return;
  const addr = (a: [string, number] | null): TValue => (a ? [a[0], a[1]] : null);
  const time = (t: number | null | undefined): TValue => (t === null || t === undefined ? null : toFloatValue(t));
  conn.set("address", addr(address));
  conn.set("peername", addr(server?.peername ?? null));
  conn.set("sockname", addr(server?.sockname ?? null));
  conn.set("timestamp_start", time(server?.timestampStart));
  conn.set("timestamp_tcp_setup", time(server?.timestampTcpSetup));
  conn.set("timestamp_end", time(server?.timestampEnd));
  conn.set("error", error);
}

/**
 * Fires `event` of the built-in stages on the flow; one that throws is logged and the others
 * still run. The flow is written as the stages leave it (the request as sent, the response
 * as rewritten), as mitmproxy's client playback records what its request hook made of it.
 */
function fireStages(event: "request" | "responseheaders" | "response", flow: Flow, record: ReadRecord, s: ClientReplaySettings): void {
  for (const stage of s.stages ?? []) {
    try {
      stage.hooks[event]?.(flow);
    } catch (e) {
      s.log(`${record.file}: flow #${record.raw.index}: ${stage.name}, ${event}: ${escapeControl(e instanceof Error ? e.message : String(e))}`);
    }
  }
}

/** Sends one flow's request again and puts the outcome into the flow. */
async function replayOne(record: ReadRecord, sender: RequestSender, s: ClientReplaySettings, tally: ClientReplayTally): Promise<ReadRecord> {
  const top = record.promote();
  const flow = s.stages?.length ? (flowFromState(record) as HTTPFlow) : null;
  if (flow) {
    // the recorded response is not this replay's: the rules see the request alone
    top.set("response", null);
    top.set("error", null);
    fireStages("request", flow, record, s);
  }
  top.set("is_replay", "request");
  if (flow?.response) {
    // answered by a rule (--map-local): nothing is sent
    fireStages("responseheaders", flow, record, s);
    fireStages("response", flow, record, s);
    tally.sent++;
    return record;
  }
  const out = outgoing(record, s.target);
  try {
    const sent = await sender.send(out);
    top.set("response", responseState(sent.response));
    top.set("error", null);
    sentTo(record, [out.host, out.port], sent.server, null);
    if (flow) {
      fireStages("responseheaders", flow, record, s);
      fireStages("response", flow, record, s);
    }
    tally.sent++;
  } catch (e) {
    const failure = e instanceof ProxyFailure ? e : new ProxyFailure("E_UPSTREAM_PROTOCOL", (e as Error).message);
    top.set("response", null);
    top.set("error", FlowError.stateOf({ msg: failure.flowMessage, timestamp: unixNow() }));
    sentTo(record, [out.host, out.port], null, failure.message);
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
