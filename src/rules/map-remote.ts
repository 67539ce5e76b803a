/**
 * `--map-remote '|FILTER|URL-REGEX|REPLACEMENT'`, as mitmproxy's `map_remote`: at the
 * request, every match of the regex in the request's pretty URL (Host header preferred) is
 * replaced, Python-style (`\1`, `\g<name>` refer to groups); if the URL changed it is set,
 * which sets scheme, host, port, path and the Host header with them.
 */
import type { Filter, ParseOptions } from "../filter/index.js";
import type { HTTPFlow } from "../model/index.js";
import { RuleSyntaxError } from "./rule-syntax-error.js";
import { ruleRegex, splitRule } from "./rule-spec.js";
import type { RuleStep } from "./rule-step.js";

/** One parsed map-remote rule. */
export interface RemoteRule {
  filter: Filter | null;
  pattern: RegExp;
  /** the replacement for one match */
  expand: (match: RegExpExecArray) => string;
}

const TEMPLATE_ESCAPES: Record<string, string> = { n: "\n", t: "\t", r: "\r", f: "\f", v: "\v", a: "\x07", b: "\b", "\\": "\\" };

/**
 * Compiles a Python `re.sub` template: `\N` (N from 1), `\0` a NUL, and `\g<N>`/`\g<name>` are groups (an unmatched
 * group is empty), `\n` and friends their characters, other escapes of letters an error, other
 * escapes kept as written. `groups` is the regex's group count, `at` the template's column.
 */
export function compileTemplate(template: string, groups: number, fail: (at: number, why: string) => never): (m: RegExpExecArray) => string {
  const parts: (string | ((m: RegExpExecArray) => string))[] = [];
  const group = (ref: string, at: number): ((m: RegExpExecArray) => string) => {
    if (/^\d+$/.test(ref)) {
      const n = Number(ref);
      if (n > groups) fail(at, `invalid group reference ${n}`);
      return (m) => m[n] ?? "";
    }
    if (!/^[A-Za-z_]\w*$/.test(ref)) fail(at, `bad group name ${JSON.stringify(ref)}`);
    return (m) => {
      if (!m.groups || !(ref in m.groups)) throw new Error(`unknown group name ${ref}`);
      return m.groups[ref] ?? "";
    };
  };
  let literal = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== "\\") {
      literal += c;
      continue;
    }
    const next = template[i + 1];
    if (next === undefined) fail(i, "bad escape (end of pattern)");
    let piece: string | ((m: RegExpExecArray) => string);
    if (next === "0") {
      const octal = /^[0-7]{1,3}/.exec(template.slice(i + 1))![0];
      piece = String.fromCharCode(parseInt(octal, 8));
      i += octal.length;
    } else if (/\d/.test(next!)) {
      const digits = /^\d{1,2}/.exec(template.slice(i + 1))![0];
      piece = group(digits, i);
      i += digits.length;
    } else if (next === "g") {
      const named = /^g<([^>]*)>/.exec(template.slice(i + 1));
      if (!named) fail(i, "missing group name after \\g");
      piece = group(named![1]!, i);
      i += named![0].length;
    } else if (next! in TEMPLATE_ESCAPES) {
      piece = TEMPLATE_ESCAPES[next!]!;
      i += 1;
    } else if (/[A-Za-z]/.test(next!)) {
      fail(i, `bad escape \\${next}`);
    } else {
      piece = `\\${next}`;
      i += 1;
    }
    if (typeof piece! === "string") literal += piece;
    else {
      parts.push(literal, piece!);
      literal = "";
    }
  }
  parts.push(literal);
  if (parts.length === 1) return () => literal;
  return (m) => parts.map((p) => (typeof p === "string" ? p : p(m))).join("");
}

/** Parses one `--map-remote` rule (throws RuleSyntaxError). */
export function parseRemoteRule(text: string, opts: ParseOptions = {}): RemoteRule {
  const p = splitRule("map-remote", text, opts);
  const pattern = ruleRegex("map-remote", text, p.subject, p.subjectAt, "g");
  const groups = new RegExp(`${pattern.source}|`).exec("")!.length - 1;
  const fail = (at: number, why: string): never => {
    throw new RuleSyntaxError("map-remote", text, p.replacementAt + at, why);
  };
  return { filter: p.filter, pattern, expand: compileTemplate(p.replacement, groups, fail) };
}

/** The URL with every match replaced (as Python's `re.sub`). */
export function mapUrl(rule: RemoteRule, url: string): string {
  return url.replace(rule.pattern, (...args: unknown[]) => {
    // rebuild the match array re.sub's template reads from: text, groups, named groups
    const named = typeof args[args.length - 1] === "object" ? (args[args.length - 1] as Record<string, string>) : undefined;
    const count = args.length - (named ? 3 : 2);
    const m = args.slice(0, count) as unknown as RegExpExecArray;
    m.groups = named;
    return rule.expand(m);
  });
}

/** The step of one map-remote rule. */
export function remoteStep(rule: RemoteRule): RuleStep {
  return {
    request: (flow: HTTPFlow, atRequest: () => HTTPFlow) => {
      if (rule.filter && !rule.filter.match(atRequest())) return;
      const url = flow.request.prettyUrl;
      const mapped = mapUrl(rule, url);
      // setting the URL rewrites the Host header too: only when the rule changed something
      if (mapped !== url) flow.request.url = mapped;
    },
  };
}
