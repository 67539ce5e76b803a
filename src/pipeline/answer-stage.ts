/**
 * A stage that runs on a live request before the scripts and may answer it itself, so that
 * nothing goes upstream (server replay). It reads and answers in flow state (version 21), as
 * the rest of the chain does; the live capture turns the answer into what the proxy sends.
 * Scripts then see the answer on the flow and get the `responseheaders` and `response`
 * events for it, as mitmproxy fires them for a response set in `request`.
 */
import type { TDict } from "../format/tnetstring.js";

/** What the stage made of a request. */
export type StageAnswer =
  /** send `response` (a `response` dict); `replay` marks the flow `is_replay = "response"`; `error` is recorded on the flow */
  | { kind: "respond"; response: TDict; replay: boolean; error: string | null }
  /** close the client connection */
  | { kind: "kill" }
  /** send the request upstream as usual */
  | { kind: "forward" };

/** A stage that may answer live requests. */
export interface AnswerStage {
  /** `request` is the flow's `request` dict, as the client sent it */
  answer(request: TDict): StageAnswer;
}
