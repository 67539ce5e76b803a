/**
 * `--modify-headers '[/FILTER]/NAME/[@]VALUE'`, as mitmproxy's `modify_headers`: on the
 * request's headers at the request and on the response's when its headers are in, each rule
 * whose filter matches removes every NAME field and then, if VALUE is not empty, adds one.
 */
import type { Filter, ParseOptions } from "../filter/index.js";
import type { Flow, Headers, HTTPFlow } from "../model/index.js";
import { replacementValue, ruleBytes, splitRule } from "./rule-spec.js";
import type { RuleStep } from "./rule-step.js";

/** One parsed header rule. */
export interface HeaderRule {
  filter: Filter | null;
  name: Buffer;
  /** the value to add (a file's bytes are read each time); empty: remove only */
  value: () => Buffer;
}

/** Parses one `--modify-headers` rule (throws RuleSyntaxError). */
export function parseHeaderRule(text: string, opts: ParseOptions = {}): HeaderRule {
  const p = splitRule("modify-headers", text, opts);
  return {
    filter: p.filter,
    name: ruleBytes("modify-headers", text, p.subject, p.subjectAt),
    value: replacementValue("modify-headers", text, p.replacement, p.replacementAt),
  };
}

/**
 * Applies rules that stand together on the command line as mitmproxy applies its list: every
 * filter is tested on the flow before any change, then every matching rule's header is
 * removed, then every non-empty value added (so two rules for one name give two fields).
 */
export function modifyHeaders(rules: readonly HeaderRule[], flow: () => Flow, headersOf: () => Headers): void {
  const matching = rules.length === 1 && !rules[0]!.filter ? rules : rules.filter((r) => !r.filter || r.filter.match(flow()));
  if (matching.length === 0) return;
  const headers = headersOf(); // parsed only when some rule applies
  for (const r of matching) headers.delete(r.name);
  for (const r of matching) {
    const value = r.value();
    if (value.length > 0) headers.add(r.name, value);
  }
}

/** The step of a run of header rules: request headers at the request, response headers when they arrive. */
export function headerStep(rules: readonly HeaderRule[]): RuleStep {
  return {
    request: (flow: HTTPFlow, atRequest: () => HTTPFlow) => modifyHeaders(rules, atRequest, () => flow.request.headers),
    responseHeaders: (flow: HTTPFlow) => {
      const response = flow.response;
      if (response) modifyHeaders(rules, () => flow, () => response.headers);
    },
  };
}
