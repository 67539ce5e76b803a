/** What every kind of rewrite rule provides: its work at each point of an HTTP exchange. */
import type { HTTPFlow } from "../model/index.js";

/**
 * One step of the rules stage, at the points mitmproxy's addons act on live traffic. Filters
 * of the request step see the flow as it was when the request came in (`atRequest`: no
 * response, no error yet), even on a saved flow that has both; it is made only when a filter asks.
 */
export interface RuleStep {
  /** at the request; true when the step answered it (later request steps then do nothing, as in mitmproxy) */
  request?(flow: HTTPFlow, atRequest: () => HTTPFlow): boolean | void;
  /** when the response's headers are in */
  responseHeaders?(flow: HTTPFlow): void;
  /** when the whole response is in */
  response?(flow: HTTPFlow): void;
}
