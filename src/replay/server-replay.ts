/**
 * Server replay: answers live requests from a recording, never going upstream unless misses
 * are to be forwarded. Each hit is served in recorded order; each miss is logged with the
 * nearest recorded request and what differs, and counted for `--strict`.
 */
import { escapeControl } from "../display/human.js";
import { Request, reasonPhrase } from "../model/index.js";
import type { AnswerStage, StageAnswer } from "../pipeline/answer-stage.js";
import { requestState } from "../pipeline/live-state.js";
import { unixNow } from "../proxy/clock.js";
import type { HeaderPair, HttpRequestData, HttpResponseData } from "../proxy/exchange.js";
import { type NearestRequest, jsonBodyDifferences, nearestRequest } from "./nearest-request.js";
import type { RecordedAnswer, RecordedAnswers } from "./recorded-answers.js";
import { refreshHeaders } from "./refresh-response.js";
import { type RequestKey, requestKey } from "./request-key.js";
import type { ServerReplaySettings } from "./replay-settings.js";

/** A request as log lines show it: method and path (with query), escaped for the terminal. */
function requestLabel(request: Request): string {
  return escapeControl(`${request.method} ${request.path}`);
}

/** How many misses' nearest requests are remembered. */
const NEAREST_REMEMBERED = 1024;

/** How a replay went, for the closing summary. */
export interface ReplayTally {
  served: number;
  missed: number;
  /** recorded answers no request asked for */
  unused: RecordedAnswer[];
}

/** The answer stage of `reflow replay`. */
export class ServerReplay implements AnswerStage {
  private served = 0;
  private missed = 0;
  /** the nearest recorded request of recent misses, by key */
  private readonly nearestSeen = new Map<string, NearestRequest | null>();

  constructor(
    private readonly answers: RecordedAnswers,
    private readonly settings: ServerReplaySettings,
    /** where miss lines go */
    private readonly log: (line: string) => void,
  ) {}

  answer(live: HttpRequestData): StageAnswer {
    const request = new Request(requestState(live));
    const key = requestKey(request, this.settings);
    const hit = this.answers.take(key, this.settings.reuse);
    if (hit) {
      hit.served++;
      this.served++;
      return { kind: "respond", response: this.serve(hit), replay: true, error: null };
    }
    this.missed++;
    const why = this.explainMiss(request, key);
    const extra = this.settings.extra;
    this.log(`miss: ${why}${extra === "forward" ? " (forwarded)" : ""}`);
    if (extra === "forward") return { kind: "forward" };
    if (extra === "kill") return { kind: "kill" };
    return { kind: "respond", response: emptyResponse(extra), replay: true, error: `No recorded response: ${why}` };
  }

  /** A recorded response, refreshed unless --no-refresh, stamped as sent now. */
  private serve(hit: RecordedAnswer): HttpResponseData {
    const { response: r, recordedAt } = hit.response();
    const now = unixNow();
    // A response with no recorded time has no age to shift by.
    const headers = this.settings.refresh && recordedAt > 0 ? refreshHeaders(r.headers, now - recordedAt) : r.headers;
    return {
      httpVersion: r.httpVersion,
      statusCode: r.statusCode,
      reason: r.reason,
      // A body that was not recorded (streamed) is served empty, framed as empty: the
      // recorded Content-Length would leave the client waiting for bytes that never come.
      headers: r.content === null ? withoutBodyFraming(headers) : headers,
      content: r.content ?? Buffer.alloc(0),
      trailers: r.content === null ? null : r.trailers,
      timestampStart: now,
      timestampEnd: now,
    };
  }

  /** "GET /a?page=2: nearest GET /a?page=1, query page 2 ≠ 1", escaped for the terminal. */
  explainMiss(request: Request, key: RequestKey): string {
    const label = requestLabel(request);
    let nearest = this.nearestSeen.get(key.text);
    if (nearest === undefined) {
      nearest = this.nearest(request, key);
      // A client that keeps asking for what was not recorded costs one search.
      if (this.nearestSeen.size >= NEAREST_REMEMBERED) this.nearestSeen.delete(this.nearestSeen.keys().next().value!);
      this.nearestSeen.set(key.text, nearest);
    }
    if (!nearest) return `${label}: nothing recorded`;
    if (nearest.differences.length === 0) {
      const n = this.answers.countFor(key);
      return `${label}: all ${n} recorded answer${n === 1 ? " was" : "s were"} served already`;
    }
    return `${label}: nearest ${nearest.answer.label}, ${escapeControl(nearest.differences.join(", "))}`;
  }

  /** The nearest recorded request; a JSON body's differences named by path (what `--ignore-json-path` takes). */
  private nearest(request: Request, key: RequestKey): NearestRequest | null {
    const found = nearestRequest(key, this.answers);
    const at = found?.differences.findIndex((d) => d.startsWith("body differs")) ?? -1;
    if (!found || at < 0) return found;
    const json = jsonBodyDifferences(request.getContent(false), found.answer.requestBody(), this.settings.ignoreJsonPaths);
    if (json) found.differences.splice(at, 1, ...json);
    return found;
  }

  /** Served, missed and never asked for, so far. */
  tally(): ReplayTally {
    return { served: this.served, missed: this.missed, unused: this.answers.unused() };
  }
}

/** `headers` framing an empty body: Content-Length 0 instead of the recorded framing (and no trailers). */
function withoutBodyFraming(headers: HeaderPair[]): HeaderPair[] {
  const framing = new Set(["content-length", "transfer-encoding", "trailer"]);
  const kept = headers.filter(([name]) => !framing.has(name.toString("latin1").toLowerCase()));
  return [...kept, [Buffer.from("content-length"), Buffer.from("0")]];
}

/** The empty response `--extra STATUS` sends (mitmproxy's `Response.make(status)`). */
function emptyResponse(status: number): HttpResponseData {
  const now = unixNow();
  return {
    httpVersion: "HTTP/1.1",
    statusCode: status,
    reason: Buffer.from(reasonPhrase(status), "latin1"),
    // a 204 has no Content-Length at all (RFC 9110 §8.6)
    headers: status === 204 ? [] : [[Buffer.from("content-length"), Buffer.from("0")]],
    content: Buffer.alloc(0),
    trailers: null,
    timestampStart: now,
    timestampEnd: now,
  };
}
