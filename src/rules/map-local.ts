/**
 * `--map-local '|FILTER|URL-REGEX|PATH'`, as mitmproxy's `map_local`: at the request, a
 * matching URL is answered from a local file (200, `Server` and a guessed `Content-Type`)
 * instead of the server. PATH is a file, or a directory in which the URL's part after the
 * match (or the regex's first group) names the file, `index.html` for a directory; no such
 * file gives a 404. The answer replaces a saved flow's recorded response and error.
 */
import { realpathSync, readFileSync, statSync } from "node:fs";
import { extname, isAbsolute, join, posix } from "node:path";
import type { Filter, ParseOptions } from "../filter/index.js";
import { type HTTPFlow, Response } from "../model/index.js";
import { RuleSyntaxError } from "./rule-syntax-error.js";
import { expandHome, ruleRegex, splitRule } from "./rule-spec.js";
import type { RuleStep } from "./rule-step.js";

/** One parsed map-local rule. */
export interface LocalRule {
  filter: Filter | null;
  pattern: RegExp;
  /** the file or directory, resolved when the rule was parsed */
  localPath: string;
}

/** Content types by extension, as Python's `mimetypes` gives them for the files sites serve. */
const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html", ".htm": "text/html", ".css": "text/css", ".js": "text/javascript", ".mjs": "text/javascript",
  ".json": "application/json", ".txt": "text/plain", ".csv": "text/csv", ".xml": "application/xml", ".svg": "image/svg+xml",
  ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".webp": "image/webp",
  ".ico": "image/vnd.microsoft.icon", ".pdf": "application/pdf", ".wasm": "application/wasm", ".woff": "font/woff",
  ".woff2": "font/woff2", ".mp4": "video/mp4", ".zip": "application/zip",
};

/** Parses one `--map-local` rule; the path must exist (throws RuleSyntaxError). */
export function parseLocalRule(text: string, opts: ParseOptions = {}): LocalRule {
  const p = splitRule("map-local", text, opts);
  const pattern = ruleRegex("map-local", text, p.subject, p.subjectAt, "");
  let localPath: string;
  try {
    localPath = realpathSync(expandHome(p.replacement));
  } catch (e) {
    throw new RuleSyntaxError("map-local", text, p.replacementAt, `no such file or directory: ${p.replacement} (${(e as NodeJS.ErrnoException).code})`);
  }
  return { filter: p.filter, pattern, localPath };
}

const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

/** `untrusted` inside `root`, or null when it would leave it (absolute, or `..` above it). */
function safeJoin(root: string, untrusted: string): string | null {
  const normal = posix.normalize(untrusted);
  if (isAbsolute(normal) || normal === ".." || normal.startsWith("../")) return null;
  return join(root, normal);
}

/** The files that may answer `url` under a directory rule, in order of preference (mitmproxy's `file_candidates`). */
export function fileCandidates(url: string, rule: LocalRule): string[] {
  const m = rule.pattern.exec(url);
  if (!m) return [];
  let suffix: string;
  if (m.length > 1) suffix = m[1] ?? "";
  else suffix = url.slice(m.index + m[0].length).split("?")[0]!.replace(/^\/+|\/+$/g, "");
  if (!suffix) return [join(rule.localPath, "index.html")];
  let decoded: string;
  try {
    decoded = decodeURIComponent(suffix);
  } catch {
    decoded = suffix;
  }
  const names = [decoded, `${decoded}/index.html`];
  const escaped = decoded.replace(/[^0-9a-zA-Z\-_.=(),/]/g, "_");
  if (escaped !== decoded) names.push(escaped, `${escaped}/index.html`);
  const joined = names.map((n) => safeJoin(rule.localPath, n));
  return joined.every((j) => j !== null) ? (joined as string[]) : [];
}

/** Sets `flow`'s response to the first local file any rule names, a 404 if rules matched but no file exists; true if answered. */
export function answerLocally(rules: readonly LocalRule[], flow: HTTPFlow, atRequest: () => HTTPFlow): boolean {
  let url: string | undefined;
  let tried = false;
  for (const rule of rules) {
    if (rule.filter && !rule.filter.match(atRequest())) continue;
    url ??= flow.request.prettyUrl;
    if (!rule.pattern.test(url)) continue;
    const candidates = isFile(rule.localPath) ? [rule.localPath] : fileCandidates(url, rule);
    tried ||= candidates.length > 0;
    const file = candidates.find(isFile);
    if (!file) continue;
    const headers: [string, string][] = [["Server", "reflow"]];
    const type = CONTENT_TYPES[extname(file).toLowerCase()];
    if (type) headers.push(["Content-Type", type]);
    answer(flow, Response.make(200, readFileSync(file), headers));
    return true;
  }
  if (tried) answer(flow, Response.make(404));
  return tried;
}

function answer(flow: HTTPFlow, response: Response): void {
  flow.response = response;
  if (flow.error) flow.error = null; // the server was never asked, so nothing failed
}

/** The step of a run of map-local rules (the first rule with a file answers, as mitmproxy's list does). */
export function localStep(rules: readonly LocalRule[]): RuleStep {
  return { request: (flow: HTTPFlow, atRequest: () => HTTPFlow) => answerLocally(rules, flow, atRequest) };
}
