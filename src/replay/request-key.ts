/**
 * The server-replay key of a request, as mitmproxy's `ServerPlayback._hash`: scheme, method,
 * path, body, host (the Host header's, as `pretty_host`), port, the query parameters in order,
 * and the `--use-headers`; minus what the match settings leave out. Its parts are kept apart
 * so that a miss can say which of them differ from the nearest recorded request.
 */
import { createHash } from "node:crypto";
import { type JsonValue, omitJsonPaths } from "../model/json-path.js";
import type { Request } from "../model/index.js";
import { parseQuery, splitPath } from "../model/url.js";
import { multipartFields } from "./multipart-fields.js";
import type { MatchSettings } from "./replay-settings.js";

/** The body as far as the key sees it. */
export interface BodyKey {
  /** equal bodies, equal digests ("" for none or an empty one) */
  digest: string;
  /** how it is told apart, for explanations: its size, or its form fields */
  size: number;
  /** the form fields compared, when payload parameters were left out of a form */
  fields: [string, string][] | null;
}

/** A request's key, part by part; `text` is equal exactly when every part is. */
export interface RequestKey {
  text: string;
  method: string;
  scheme: string;
  /** null when left out */
  host: string | null;
  port: number | null;
  path: string;
  query: [string, string][];
  /** null when left out (`--ignore-content`) */
  body: BodyKey | null;
  /** the `--use-headers` values (null: the request has no such header) */
  headers: [string, string | null][];
}

const NO_BODY: BodyKey = { digest: "", size: 0, fields: null };

function digestOf(data: Buffer | string): string {
  return data.length === 0 ? "" : createHash("sha1").update(data).digest("base64");
}

/** The body part: raw bytes as stored, or the form / JSON with the ignored parts left out. */
function bodyKey(request: Request, s: MatchSettings): BodyKey {
  const raw = request.rawContent;
  if (!raw || raw.length === 0) return NO_BODY;
  if (s.ignorePayloadParams.size > 0) {
    const contentType = request.headers.get("content-type") ?? null;
    const multipart = multipartFields(contentType, request.getContent(false));
    const form: [string, string][] = multipart.length
      ? multipart.map(([k, v]) => [k, v.toString("latin1")])
      : [...request.urlencodedForm];
    if (form.length) {
      const fields = form.filter(([k]) => !s.ignorePayloadParams.has(k));
      return { digest: digestOf(JSON.stringify(fields)), size: raw.length, fields };
    }
  }
  if (s.ignoreJsonPaths.length > 0) {
    const json = jsonBody(request);
    if (json !== undefined) return { digest: digestOf(canonicalJson(omitJsonPaths(json, s.ignoreJsonPaths))), size: raw.length, fields: null };
  }
  return { digest: digestOf(raw), size: raw.length, fields: null };
}

/** JSON text with object keys sorted: bodies that differ only in key order or spacing are equal, as `diff` sees them. */
function canonicalJson(v: JsonValue): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  return `{${Object.keys(v)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k]!)}`)
    .join(",")}}`;
}

/** The decoded body as JSON, or undefined when it is not JSON. */
function jsonBody(request: Request): JsonValue | undefined {
  return parseJsonBody(request.getContent(false));
}

/** A (decoded) body as JSON: an object or array; undefined for anything else. */
export function parseJsonBody(body: Buffer | null): JsonValue | undefined {
  const text = body?.toString("utf8").trim() ?? "";
  if (!text.startsWith("{") && !text.startsWith("[")) return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
}

/** The key of `request` under the match settings `s`. */
export function requestKey(request: Request, s: MatchSettings): RequestKey {
  const split = splitPath(request.path);
  // parse_qsl of the query, in order; ignored names are dropped wherever they stand
  const query = parseQuery(split.query ?? "").filter(([name]) => !s.ignoreParams.has(name));
  const key: Omit<RequestKey, "text"> = {
    method: request.method,
    scheme: request.scheme,
    host: s.ignoreHost ? null : request.prettyHost.toLowerCase(),
    port: s.ignorePort ? null : request.port,
    path: split.path,
    query,
    body: s.ignoreContent ? null : bodyKey(request, s),
    headers: s.useHeaders.map((name) => [name, request.headers.get(name) ?? null]),
  };
  const text = JSON.stringify([key.method, key.scheme, key.host, key.port, key.path, key.query, key.body?.digest ?? null, key.headers]);
  return { text, ...key };
}
