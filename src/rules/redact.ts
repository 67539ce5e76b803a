/**
 * `--redact NAME`: every value of NAME becomes `REDACTED`, wherever it occurs. NAME is a
 * header (either side, any case), a query parameter, a URL-encoded form field, a cookie
 * (Cookie or Set-Cookie; its attributes kept), all at once; or a JSON path (`$.user.password`) into request and
 * response bodies that are JSON. The flag form of `examples/redact.ts`.
 */
import type { HTTPFlow, Message } from "../model/index.js";
import { jsonValueSpans, type PathStep, parseJsonPath, replaceSpans } from "./json-spans.js";
import { RuleSyntaxError } from "./rule-syntax-error.js";
import type { RuleStep } from "./rule-step.js";

export const REDACTED = "REDACTED";

/** One parsed redaction. */
export type Redaction = { name: string } | { path: PathStep[] };

/** Parses one `--redact` argument (throws RuleSyntaxError). */
export function parseRedaction(text: string): Redaction {
  if (text.length === 0) throw new RuleSyntaxError("redact", text, 0, "empty name");
  if (!text.startsWith("$")) return { name: text };
  const path = parseJsonPath(text);
  if (!path) throw new RuleSyntaxError("redact", text, 0, "not a JSON path (expected $.key, $.list[0], $.list[*].key)");
  return { path };
}

function redactHeader(message: Message, name: string): void {
  const count = message.headers.getAll(name).length;
  if (count > 0) message.headers.setAll(name, Array<string>(count).fill(REDACTED));
}

function redactJson(message: Message, path: PathStep[]): void {
  const body = message.getContent(false);
  if (!body || body.length === 0) return;
  const first = body.find((b) => b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d);
  if (first !== 0x7b && first !== 0x5b) return; // neither { nor [: not a JSON document
  const text = body.toString("utf8");
  const spans = jsonValueSpans(text, path);
  if (spans.length) message.content = Buffer.from(replaceSpans(text, spans, REDACTED), "utf8");
}

/** Redacts the request's parts. */
export function redactRequest(redactions: readonly Redaction[], flow: HTTPFlow): void {
  const request = flow.request;
  for (const r of redactions) {
    if ("path" in r) {
      redactJson(request, r.path);
      continue;
    }
    redactHeader(request, r.name);
    const query = request.query;
    if (query.getAll(r.name).length) query.setAll(r.name, query.getAll(r.name).map(() => REDACTED));
    const cookies = request.cookies;
    if (cookies.getAll(r.name).length) cookies.setAll(r.name, cookies.getAll(r.name).map(() => REDACTED));
    const form = request.urlencodedForm; // empty unless the body is a URL-encoded form
    if (form.getAll(r.name).length) form.setAll(r.name, form.getAll(r.name).map(() => REDACTED));
  }
}

/** Redacts the response's parts. */
export function redactResponse(redactions: readonly Redaction[], flow: HTTPFlow): void {
  const response = flow.response;
  if (!response) return;
  for (const r of redactions) {
    if ("path" in r) {
      redactJson(response, r.path);
      continue;
    }
    redactHeader(response, r.name);
    const cookies = response.cookies;
    const values = cookies.getAll(r.name);
    if (values.length) cookies.setAll(r.name, values.map(([, attrs]) => [REDACTED, attrs]));
  }
}

/** The step of a run of redactions: the request at the request, the response when it is whole. */
export function redactStep(redactions: readonly Redaction[]): RuleStep {
  return {
    request: (flow: HTTPFlow) => redactRequest(redactions, flow),
    response: (flow: HTTPFlow) => redactResponse(redactions, flow),
  };
}
