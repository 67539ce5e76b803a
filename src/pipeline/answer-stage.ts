/**
 * A stage that runs on a live request before the scripts and may answer it itself, so that
 * nothing goes upstream (server replay). Scripts then see the answer on the flow and get the
 * `responseheaders` and `response` events for it, as mitmproxy fires them for a response set
 * in `request`.
 */
import type { HttpRequestData, HttpResponseData } from "../proxy/exchange.js";

/** What the stage made of a request. */
export type StageAnswer =
  /** send `response`; `replay` marks the flow `is_replay = "response"`; `error` is recorded on the flow */
  | { kind: "respond"; response: HttpResponseData; replay: boolean; error: string | null }
  /** close the client connection */
  | { kind: "kill" }
  /** send the request upstream as usual */
  | { kind: "forward" };

/** A stage that may answer live requests. */
export interface AnswerStage {
  answer(request: HttpRequestData): StageAnswer;
}
