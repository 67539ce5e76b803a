/**
 * mitmproxy's rule syntax, `[/FILTER]/SUBJECT/REPLACEMENT` (its `utils/spec.py`): the first
 * character is the separator, whatever it is; the text splits on it at most twice, so the
 * replacement may hold the separator. Two parts: no filter (every flow).
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { type Filter, FilterSyntaxError, type ParseOptions, parseFilter } from "../filter/index.js";
import { EscapeError, escapedBytes } from "./escaped-bytes.js";
import { RuleSyntaxError } from "./rule-syntax-error.js";

/** The parts of one rule, each with the column where it starts. */
export interface RuleParts {
  /** the flows the rule applies to; null: all */
  filter: Filter | null;
  subject: string;
  subjectAt: number;
  replacement: string;
  replacementAt: number;
}

/** Splits and checks a rule; errors point at the part (or the character) that is wrong. */
export function splitRule(option: string, text: string, opts: ParseOptions = {}): RuleParts {
  const fail = (at: number, why: string): never => {
    throw new RuleSyntaxError(option, text, at, why);
  };
  if (text.length === 0) fail(0, "empty rule (expected [SEP FILTER] SEP SUBJECT SEP REPLACEMENT, e.g. /~q/Name/value)");
  const sep = text[0]!;
  const parts: { text: string; at: number }[] = [];
  let from = 1;
  while (parts.length < 2) {
    const next = text.indexOf(sep, from);
    if (next === -1) break;
    parts.push({ text: text.slice(from, next), at: from });
    from = next + 1;
  }
  parts.push({ text: text.slice(from), at: from });
  if (parts.length < 2)
    fail(text.length, `expected 2 or 3 parts separated by ${JSON.stringify(sep)} (the rule's first character), found 1`);
  const [filterPart, subject, replacement] = parts.length === 3 ? parts : [null, ...parts];
  let filter: Filter | null = null;
  if (filterPart) {
    try {
      filter = parseFilter(filterPart.text, opts);
    } catch (e) {
      if (!(e instanceof FilterSyntaxError)) throw e;
      fail(filterPart.at + e.offset, `filter: ${e.reason}`);
    }
  }
  return { filter, subject: subject!.text, subjectAt: subject!.at, replacement: replacement!.text, replacementAt: replacement!.at };
}

/** `escapedBytes`, its errors turned into rule errors at the right column. */
export function ruleBytes(option: string, rule: string, text: string, at: number): Buffer {
  try {
    return escapedBytes(text);
  } catch (e) {
    if (e instanceof EscapeError) throw new RuleSyntaxError(option, rule, at + e.at, e.message);
    throw e;
  }
}

/**
 * A Python regex as a JavaScript one: `(?P<name>` and `(?P=name)` become JavaScript's
 * named groups, `\A` and `\Z` the start and end of the text; the rest is the common syntax.
 */
export function ruleRegex(option: string, rule: string, source: string, at: number, flags: string): RegExp {
  const js = source
    .replace(/\(\?P</g, "(?<")
    .replace(/\(\?P=(\w+)\)/g, "\\k<$1>")
    .replace(/\\A/g, "^")
    .replace(/\\Z/g, "$(?![\\s\\S])");
  try {
    return new RegExp(js, flags);
  } catch (e) {
    throw new RuleSyntaxError(option, rule, at, `invalid regular expression: ${(e as Error).message}`);
  }
}

/** A path with a leading `~` expanded, as Python's `Path.expanduser`. */
export function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path;
}

/**
 * A replacement value: the bytes of a file for `@PATH` (read again each time it is used, as
 * mitmproxy does; checked now), else the text with its escapes decoded.
 */
export function replacementValue(option: string, rule: string, text: string, at: number): () => Buffer {
  if (!text.startsWith("@")) {
    const bytes = ruleBytes(option, rule, text, at);
    return () => bytes;
  }
  const path = expandHome(text.slice(1));
  try {
    readFileSync(path);
  } catch (e) {
    throw new RuleSyntaxError(option, rule, at + 1, `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return () => readFileSync(path);
}
