/**
 * Why a request missed: the recorded request nearest to it, and which key parts differ
 * ("query page 2 ≠ 1"). Nearness weighs the parts a person would look at first: method and
 * path most, then host, then the rest one by one; ties go to the earliest recorded.
 */
import type { RecordedAnswer } from "./recorded-answers.js";
import type { RequestKey } from "./request-key.js";

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

/** The recorded request nearest to `asked`, or null when nothing was recorded. */
export function nearestRequest(asked: RequestKey, recorded: readonly RecordedAnswer[]): NearestRequest | null {
  let best: RecordedAnswer | null = null;
  let bestScore = Infinity;
  let bestDiffs: { text: string; weight: number }[] = [];
  const seen = new Set<string>();
  for (const answer of recorded) {
    if (seen.has(answer.key.text)) continue; // the first of equal keys stands for all of them
    seen.add(answer.key.text);
    const diffs = keyDifferences(asked, answer.key);
    const score = diffs.reduce((n, d) => n + d.weight, 0);
    if (score < bestScore) {
      best = answer;
      bestScore = score;
      bestDiffs = diffs;
      if (score === 0) break;
    }
  }
  return best && { answer: best, differences: bestDiffs.map((d) => d.text) };
}
