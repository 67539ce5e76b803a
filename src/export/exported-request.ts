/**
 * A flow's request as the export formats use it (mitmproxy's `cleanup_request` and
 * `pop_headers`): the body decoded, Content-Encoding and Content-Length dropped, and the
 * Host header dropped when it only repeats the host.
 */
import { isUtf8 } from "node:buffer";
import type { HTTPFlow } from "../model/index.js";
import { UNPRINTABLE } from "./shell-quote.js";

/** What a command needs of a request. */
export interface ExportedRequest {
  method: string;
  url: string;
  headers: [string, string][];
  /** the decoded body; null when none was recorded or it is empty */
  body: Buffer | null;
  /** the body as text when it can stand in a command line (UTF-8, nothing unprintable); else null */
  bodyText: string | null;
}

/** The request of `flow`, cleaned up for a command line. */
export function exportedRequest(flow: HTTPFlow): ExportedRequest {
  const request = flow.request;
  const host = request.host;
  const headers = [...request.headers].filter(([name, value]) => {
    const n = name.toLowerCase();
    if (n === "content-length" || n === "content-encoding") return false;
    return !((n === "host" || n === ":authority") && value === host);
  });
  const content = request.getContent(false);
  const body = content && content.length ? content : null;
  const text = body && isUtf8(body) ? body.toString("utf8") : null;
  return {
    method: request.method,
    url: request.prettyUrl,
    headers,
    body,
    bodyText: text !== null && !UNPRINTABLE.test(text) ? text : null,
  };
}
