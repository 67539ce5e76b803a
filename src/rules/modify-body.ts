/**
 * `--modify-body '[/FILTER]/REGEX/[@]REPLACEMENT'`, as mitmproxy's `modify_body`: the regex
 * (Python syntax, over bytes, `.` matching newlines) is replaced everywhere in the decoded
 * body, taken literally (no group references), and the body is encoded again with its
 * Content-Encoding. At the request it rewrites the request body; once a response is there,
 * the response body.
 */
import type { Filter, ParseOptions } from "../filter/index.js";
import type { HTTPFlow, Message } from "../model/index.js";
import { replacementValue, ruleBytes, ruleRegex, splitRule } from "./rule-spec.js";
import type { RuleStep } from "./rule-step.js";

/** One parsed body rule. */
export interface BodyRule {
  filter: Filter | null;
  /** over the body's bytes as Latin-1 text, one character per byte */
  pattern: RegExp;
  replacement: () => Buffer;
}

/** Parses one `--modify-body` rule (throws RuleSyntaxError). */
export function parseBodyRule(text: string, opts: ParseOptions = {}): BodyRule {
  const p = splitRule("modify-body", text, opts);
  const source = ruleBytes("modify-body", text, p.subject, p.subjectAt).toString("latin1");
  return {
    filter: p.filter,
    pattern: ruleRegex("modify-body", text, source, p.subjectAt, "gs"),
    replacement: replacementValue("modify-body", text, p.replacement, p.replacementAt),
  };
}

/** The body with every match replaced. */
export function replaceInBody(rule: BodyRule, body: Buffer): Buffer {
  const text = body.toString("latin1");
  rule.pattern.lastIndex = 0;
  if (!rule.pattern.test(text)) return body;
  const replacement = rule.replacement().toString("latin1");
  return Buffer.from(text.replace(rule.pattern, () => replacement), "latin1");
}

/**
 * Sets the body even when nothing matched, as mitmproxy does (`content = re.sub(...)`): that
 * sets Content-Length (`content-length: 0` on an empty GET), and mitmdump's live flows have it.
 */
function rewrite(rule: BodyRule, message: Message): void {
  const body = message.content;
  if (body !== null) message.content = replaceInBody(rule, body);
}

/** The step of one body rule. */
export function bodyStep(rule: BodyRule): RuleStep {
  return {
    request: (flow: HTTPFlow, atRequest: () => HTTPFlow) => {
      if (!rule.filter || rule.filter.match(atRequest())) rewrite(rule, flow.request);
    },
    response: (flow: HTTPFlow) => {
      if (flow.response && (!rule.filter || rule.filter.match(flow))) rewrite(rule, flow.response);
    },
  };
}
