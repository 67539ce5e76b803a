/**
 * Server replay: answers live requests from a recording, never going upstream unless misses
 * are to be forwarded. Each hit is served in recorded order; each miss is logged with the
 * nearest recorded request and what differs, and counted for `--strict`.
 */
import { escapeControl } from "../display/human.js";
import { RESPONSE, inKeyOrder } from "../format/migrations/key-orders.js";
import type { TDict } from "../format/tnetstring.js";
import { type HeaderField, Request, Response } from "../model/index.js";
import { toFloatValue } from "../model/values.js";
import type { AnswerStage, StageAnswer } from "../pipeline/answer-stage.js";
import { unixNow } from "../proxy/clock.js";
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

  answer(requestState: TDict): StageAnswer {
    const request = new Request(requestState);
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
    // mitmproxy's `Response.make(status)`: empty, with its Content-Length
    return { kind: "respond", response: Response.make(extra).state, replay: true, error: `No recorded response: ${why}` };
  }

  /** A recorded response, refreshed unless --no-refresh, stamped as sent now: a `response` dict of its own. */
  private serve(hit: RecordedAnswer): TDict {
    const { response: r, recordedAt } = hit.response();
    const now = toFloatValue(unixNow());
    const recorded = (r.get("headers") ?? []) as HeaderField[];
    // A response with no recorded time has no age to shift by.
    const headers = this.settings.refresh && recordedAt > 0 ? refreshHeaders(recorded, unixNow() - recordedAt) : recorded;
    const content = r.get("content") as Buffer | null;
    return inKeyOrder(RESPONSE, {
      http_version: r.get("http_version")!,
      // A body that was not recorded (streamed) is served empty, framed as empty: the
      // recorded Content-Length would leave the client waiting for bytes that never come.
      headers: content === null ? withoutBodyFraming(headers) : headers,
      content: content ?? Buffer.alloc(0),
      trailers: content === null ? null : (r.get("trailers") ?? null),
      timestamp_start: now,
      timestamp_end: now,
      status_code: r.get("status_code")!,
      reason: r.get("reason")!,
    });
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
function withoutBodyFraming(headers: HeaderField[]): HeaderField[] {
  const framing = new Set(["content-length", "transfer-encoding", "trailer"]);
  const kept = headers.filter(([name]) => !framing.has(name.toString("latin1").toLowerCase()));
  return [...kept, [Buffer.from("content-length"), Buffer.from("0")]];
}
