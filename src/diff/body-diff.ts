/**
 * Comparing two message bodies after decoding: JSON structurally, text line by line,
 * anything else by size and hash. Bodies are decoded only when their stored bytes differ:
 * equal stored bytes under the same Content-Encoding are equal bodies.
 */
import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";
import { type Message, decodeText, inferCharset } from "../model/index.js";
import type { BodySummary, Change, JsonValue } from "./changes.js";
import { diffJson } from "../model/json-diff.js";
import { diffLines } from "./line-diff.js";

/** Content types whose bodies are text even when they are not UTF-8. */
const TEXTUAL = /^text\/|json|xml|javascript|ecmascript|html|css|x-www-form-urlencoded|csv|yaml/i;

/** A Content-Encoding value as compared: lower-case, no spaces, "" for none. */
function encodingOf(m: Message): string {
  return (m.headers.get("content-encoding") ?? "").toLowerCase().replace(/\s+/g, "");
}

/** The body as text, or null when it is binary. */
function bodyText(content: Buffer, contentType: string): string | null {
  if (content.includes(0)) return null;
  if (isUtf8(content)) return content.toString("utf8");
  if (!TEXTUAL.test(contentType)) return null;
  try {
    return decodeText(content, inferCharset(contentType, content));
  } catch {
    return null;
  }
}

/** The body parsed as JSON when its type says JSON or it looks like a JSON object or array, else undefined. */
function bodyJson(text: string, contentType: string): JsonValue | undefined {
  const start = /^\s*(.)/s.exec(text)?.[1];
  if (!/json/i.test(contentType) && start !== "{" && start !== "[") return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
}

/** Size and SHA-256 of a (decoded) body. */
export function summarizeBody(content: Buffer | null): BodySummary | null {
  return content === null ? null : { size: content.length, sha256: createHash("sha256").update(content).digest("hex") };
}

/**
 * Appends the changes between the bodies of `a` and `b` to `out` under `field`
 * (`request.body` or `response.body`): JSON changes by path, text hunks, or one
 * whole-body change. Bodies that decode to the same bytes give nothing.
 */
export function diffBodies(field: string, a: Message, b: Message, context: number, out: Change[]): void {
  const rawA = a.rawContent;
  const rawB = b.rawContent;
  if (rawA === null && rawB === null) return;
  if (rawA !== null && rawB !== null && rawA.equals(rawB) && encodingOf(a) === encodingOf(b)) return;
  const ca = a.getContent(false);
  const cb = b.getContent(false);
  if (ca === null || cb === null) {
    out.push({ kind: "body", field, a: summarizeBody(ca), b: summarizeBody(cb) });
    return;
  }
  if (ca.equals(cb)) return; // only the encoding differs; the headers say so
  const typeA = a.headers.get("content-type") ?? "";
  const typeB = b.headers.get("content-type") ?? "";
  const ta = bodyText(ca, typeA);
  const tb = bodyText(cb, typeB);
  if (ta !== null && tb !== null) {
    const ja = bodyJson(ta, typeA);
    const jb = ja === undefined ? undefined : bodyJson(tb, typeB);
    if (ja !== undefined && jb !== undefined) {
      // structurally equal JSON (other spacing or key order) is no change
      for (const d of diffJson(ja, jb)) out.push({ kind: "json", field, ...d });
      return;
    }
    const hunks = diffLines(ta, tb, context);
    if (hunks !== null && hunks.length > 0) {
      out.push({ kind: "text", field, hunks });
      return;
    }
  }
  out.push({ kind: "body", field, a: summarizeBody(ca), b: summarizeBody(cb) });
}
