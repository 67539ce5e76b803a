/**
 * Why a request missed: the recorded request nearest to it, and which key parts differ
 * ("query page 2 ≠ 1"). Nearness weighs the parts a person would look at first: method and
 * path most, then host, then the rest one by one; ties go to the earliest recorded.
 */
import { diffJson } from "../model/json-diff.js";
import { type JsonPathStep, type JsonValue, omitJsonPaths } from "../model/json-path.js";
import type { RecordedAnswer } from "./recorded-answers.js";
import { type RequestKey, parseJsonBody } from "./request-key.js";

/** The nearest recorded request and what differs from it. */
export interface NearestRequest {
  answer: RecordedAnswer;
  /** the differing parts, in key order ("path /a ≠ /b"); empty when the key is equal (its answers were used up) */
  differences: string[];
}

const WEIGHT = { method: 4, path: 4, host: 2, scheme: 1, port: 1, query: 1, body: 1, header: 1 } as const;

/** The query's differences, parameter by parameter, in the request's order then the recording's. */
function queryDifferences(asked: [string, string][], recorded: [string, string][]): string[] {
  const out: string[] = [];
  const values = (q: [string, string][], name: string): string[] => q.filter(([k]) => k === name).map(([, v]) => v);
  const names = [...new Set([...asked.map(([k]) => k), ...recorded.map(([k]) => k)])];
  for (const name of names) {
    const a = values(asked, name);
    const r = values(recorded, name);
    if (a.join("\0") === r.join("\0")) continue;
    if (r.length === 0) out.push(`query ${name} not recorded`);
    else if (a.length === 0) out.push(`query ${name} missing (recorded ${r.join(", ")})`);
    else out.push(`query ${name} ${a.join(", ")} ≠ ${r.join(", ")}`);
  }
  // Same parameters, other order: the key keeps the order, as mitmproxy's does.
  if (out.length === 0 && JSON.stringify(asked) !== JSON.stringify(recorded)) out.push("query order differs");
  return out;
}

/** The form fields that differ, by name. */
function fieldDifferences(asked: [string, string][], recorded: [string, string][]): string[] {
  const names = [...new Set([...asked.map(([k]) => k), ...recorded.map(([k]) => k)])];
  const of = (f: [string, string][], name: string): string => JSON.stringify(f.filter(([k]) => k === name));
  return names.filter((n) => of(asked, n) !== of(recorded, n));
}

/** Every differing part of two keys, each with its weight. */
export function keyDifferences(asked: RequestKey, recorded: RequestKey): { text: string; weight: number }[] {
  const out: { text: string; weight: number }[] = [];
  const part = (name: keyof typeof WEIGHT, a: unknown, r: unknown): void => {
    if (a !== r) out.push({ text: `${name} ${String(a)} ≠ ${String(r)}`, weight: WEIGHT[name] });
  };
  part("method", asked.method, recorded.method);
  part("scheme", asked.scheme, recorded.scheme);
  part("host", asked.host, recorded.host);
  part("port", asked.port, recorded.port);
  part("path", asked.path, recorded.path);
  for (const text of queryDifferences(asked.query, recorded.query)) out.push({ text, weight: WEIGHT.query });
  const ab = asked.body;
  const rb = recorded.body;
  if (ab && rb && ab.digest !== rb.digest) {
    const fields = ab.fields && rb.fields ? fieldDifferences(ab.fields, rb.fields) : [];
    const text = fields.length
      ? `body fields ${fields.join(", ")} differ`
      : ab.size === rb.size
        ? `body differs (${ab.size} bytes each)`
        : `body differs (${ab.size} ≠ ${rb.size} bytes)`;
    out.push({ text, weight: WEIGHT.body });
  }
  asked.headers.forEach(([name, value], i) => {
    const other = recorded.headers[i]?.[1] ?? null;
    if (value !== other) out.push({ text: `header ${name} ${value ?? "(none)"} ≠ ${other ?? "(none)"}`, weight: WEIGHT.header });
  });
  return out;
}

/** True when two queries are the same pairs in the same order. */
function sameQuery(a: [string, string][], b: [string, string][]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i]![0] !== b[i]![0] || a[i]![1] !== b[i]![1]) return false;
  return true;
}

/** True when parameter `name` has the same values, in the same order, in both queries. */
function sameValues(a: [string, string][], b: [string, string][], name: string): boolean {
  let j = 0;
  for (const [k, v] of a) {
    if (k !== name) continue;
    while (j < b.length && b[j]![0] !== name) j++;
    if (j === b.length || b[j]![1] !== v) return false;
    j++;
  }
  while (j < b.length && b[j]![0] !== name) j++;
  return j === b.length;
}

const firstIndexOf = (q: [string, string][], name: string): number => q.findIndex(([k]) => k === name);

/** queryDifferences(a, b).length for unequal queries, without making the texts. */
function queryDistance(a: [string, string][], b: [string, string][]): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    const name = a[i]![0];
    if (firstIndexOf(a, name) === i && !sameValues(a, b, name)) n++;
  }
  for (let j = 0; j < b.length; j++) {
    const name = b[j]![0];
    if (firstIndexOf(b, name) === j && firstIndexOf(a, name) < 0) n++;
  }
  return Math.max(n, 1); // the same parameters in another order differ once
}

/**
 * The summed weight of keyDifferences(asked, recorded), worked out cheaply: the request-line
 * parts first, and nothing more once it reaches `limit` (a nearer request is known).
 */
function distance(asked: RequestKey, recorded: RequestKey, limit: number): number {
  let d = 0;
  if (asked.method !== recorded.method) d += WEIGHT.method;
  if (asked.path !== recorded.path) d += WEIGHT.path;
  if (asked.host !== recorded.host) d += WEIGHT.host;
  if (asked.scheme !== recorded.scheme) d += WEIGHT.scheme;
  if (asked.port !== recorded.port) d += WEIGHT.port;
  if (d >= limit) return d;
  if (!sameQuery(asked.query, recorded.query)) d += queryDistance(asked.query, recorded.query) * WEIGHT.query;
  if (asked.body && recorded.body && asked.body.digest !== recorded.body.digest) d += WEIGHT.body;
  asked.headers.forEach(([, value], i) => {
    if (value !== (recorded.headers[i]?.[1] ?? null)) d += WEIGHT.header;
  });
  return d;
}

/** Where nearest requests are looked for: one recorded answer per distinct key, in recorded order. */
export interface NearestCandidates {
  /** the distinct keys' first answers with this path */
  withPath(path: string): readonly RecordedAnswer[];
  /** every distinct key's first answer */
  distinct(): readonly RecordedAnswer[];
}

/**
 * The recorded request nearest to `asked`, or null when nothing was recorded. Requests with
 * the same path are looked at first: one of them that differs in little else is nearer than
 * any other path can be, and then the rest of the recording is not looked at.
 */
export function nearestRequest(asked: RequestKey, candidates: NearestCandidates): NearestRequest | null {
  let best: RecordedAnswer | null = null;
  let bestScore = Infinity;
  const consider = (list: readonly RecordedAnswer[]): void => {
    for (const answer of list) {
      const score = distance(asked, answer.key, bestScore);
      if (score < bestScore) {
        best = answer;
        bestScore = score;
        if (score === 0) return;
      }
    }
  };
  consider(candidates.withPath(asked.path));
  if (bestScore > WEIGHT.path) consider(candidates.distinct());
  if (!best) return null;
  const found: RecordedAnswer = best;
  return { answer: found, differences: keyDifferences(asked, found.key).map((d) => d.text) };
}

/** How many JSON differences a miss line names. */
const JSON_DIFFERENCES_SHOWN = 3;

/** A JSON value as a miss line shows it: compact, cut at 40 characters. */
function shortJson(v: JsonValue): string {
  const text = JSON.stringify(v);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

/**
 * Where two JSON bodies differ, the ignored paths left out, as `diff` names the places
 * ("body $.nonce "b" ≠ "a""): the path to give `--ignore-json-path`. Null when either body
 * is not JSON.
 */
export function jsonBodyDifferences(asked: Buffer | null, recorded: Buffer | null, ignore: readonly JsonPathStep[][]): string[] | null {
  const a = parseJsonBody(asked);
  const r = parseJsonBody(recorded);
  if (a === undefined || r === undefined) return null;
  const found = diffJson(omitJsonPaths(a, ignore), omitJsonPaths(r, ignore));
  if (found.length === 0) return null;
  const out = found.slice(0, JSON_DIFFERENCES_SHOWN).map((d) => {
    if (d.a === undefined) return `body ${d.path} missing (recorded ${shortJson(d.b!)})`;
    if (d.b === undefined) return `body ${d.path} not recorded`;
    return `body ${d.path} ${shortJson(d.a)} ≠ ${shortJson(d.b)}`;
  });
  if (found.length > JSON_DIFFERENCES_SHOWN) out.push(`and ${found.length - JSON_DIFFERENCES_SHOWN} more body differences`);
  return out;
}
