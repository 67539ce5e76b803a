/**
 * Rewrite rules without scripts: mitmproxy's `--modify-headers`, `--modify-body`,
 * `--map-remote`, `--map-local`, and `--redact`, parsed once and applied, in command-line
 * order, to saved and live flows alike (mitmproxy's own rules do nothing to flows read from
 * a file). Pure functions over model flows; the pipeline runs them as its first stage.
 */
import type { ParseOptions } from "../filter/index.js";
import { type Flow, HTTPFlow, type Response, type FlowError, type WebSocketData } from "../model/index.js";
import { type HeaderRule, headerStep, parseHeaderRule } from "./modify-headers.js";
import { bodyStep, parseBodyRule } from "./modify-body.js";
import { parseRemoteRule, remoteStep } from "./map-remote.js";
import { type LocalRule, localStep, parseLocalRule } from "./map-local.js";
import { type Redaction, parseRedaction, redactStep } from "./redact.js";
import type { RuleStep } from "./rule-step.js";

export { RuleSyntaxError } from "./rule-syntax-error.js";
export type { RuleStep } from "./rule-step.js";

/** The command-line options that give rules. */
export const RULE_OPTIONS = ["modify-headers", "modify-body", "map-remote", "map-local", "redact"] as const;
export type RuleOption = (typeof RULE_OPTIONS)[number];

/** A rule as given on the command line (plain data: it crosses to worker threads). */
export interface RuleArgument {
  option: RuleOption;
  text: string;
}

/** The event hooks that run a rule set, by the pipeline's event names. */
export interface RuleHooks {
  request?: (flow: Flow) => void;
  responseheaders?: (flow: Flow) => void;
  response?: (flow: Flow) => void;
}

/**
 * A flow as it stood when its request came in: no response, no error, no WebSocket yet.
 * A view over the same state, for filters only (made by a constructor: cheaper per flow
 * than an object with its own property descriptors).
 */
class HTTPFlowAtRequest extends HTTPFlow {
  override get response(): Response | null {
    return null;
  }
  override get error(): FlowError | null {
    return null;
  }
  override get websocket(): WebSocketData | null {
    return null;
  }
}

/** Parsed rules, in command-line order. */
export class RuleSet {
  /** Header rules, map-local rules and redactions that stand together act as one list, as in mitmproxy. */
  readonly steps: RuleStep[] = [];

  constructor(args: readonly RuleArgument[], opts: ParseOptions = {}) {
    for (let i = 0; i < args.length; ) {
      const option = args[i]!.option;
      let j = i;
      while (j < args.length && args[j]!.option === option) j++;
      const texts = args.slice(i, j).map((a) => a.text);
      switch (option) {
        case "modify-headers":
          this.steps.push(headerStep(texts.map((t): HeaderRule => parseHeaderRule(t, opts))));
          break;
        case "map-local":
          this.steps.push(localStep(texts.map((t): LocalRule => parseLocalRule(t, opts))));
          break;
        case "redact":
          this.steps.push(redactStep(texts.map((t): Redaction => parseRedaction(t))));
          break;
        case "modify-body":
          for (const t of texts) this.steps.push(bodyStep(parseBodyRule(t, opts)));
          break;
        case "map-remote":
          for (const t of texts) this.steps.push(remoteStep(parseRemoteRule(t, opts)));
          break;
      }
      i = j;
    }
  }

  get isEmpty(): boolean {
    return this.steps.length === 0;
  }

  /** The request step of every rule, in order, until one answers the request. */
  atRequest(flow: HTTPFlow): void {
    let view: HTTPFlow | undefined;
    const atRequest = (): HTTPFlow => (view ??= new HTTPFlowAtRequest(flow.state));
    for (const step of this.steps) if (step.request?.(flow, atRequest) === true) return;
  }

  /** The response-headers step of every rule, in order. */
  atResponseHeaders(flow: HTTPFlow): void {
    for (const step of this.steps) step.responseHeaders?.(flow);
  }

  /** The response step of every rule, in order. */
  atResponse(flow: HTTPFlow): void {
    for (const step of this.steps) step.response?.(flow);
  }

  /** Hooks for the events some rule acts on (others are left out, so nothing is prepared for them). */
  hooks(): RuleHooks {
    const http = (f: Flow): f is HTTPFlow => f.type === "http";
    const hooks: RuleHooks = {};
    if (this.steps.some((s) => s.request)) hooks.request = (f) => http(f) && this.atRequest(f);
    if (this.steps.some((s) => s.responseHeaders)) hooks.responseheaders = (f) => http(f) && this.atResponseHeaders(f);
    if (this.steps.some((s) => s.response)) hooks.response = (f) => http(f) && this.atResponse(f);
    return hooks;
  }
}
