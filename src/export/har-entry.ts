/**
 * A flow as one HAR 1.2 entry (`log.entries[]` item), on one line: request and response
 * with headers, cookies, query, body (text, or base64 when binary), sizes and timings from
 * the flow's timestamps. A minimal entry of its own; the full HAR writer (issue 13) may
 * replace it.
 */
import { isUtf8 } from "node:buffer";
import type { HTTPFlow, Message } from "../model/index.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const pairs = (entries: Iterable<[string, string]>): Json[] => [...entries].map(([name, value]) => ({ name, value }));
const headersSize = (m: Message): number => m.headers.fields.reduce((n, [k, v]) => n + k.length + v.length + 4, 0);
const ms = (from: number | null | undefined, to: number | null | undefined): number =>
  from != null && to != null ? Math.max(0, Math.round((to - from) * 1000 * 1000) / 1000) : -1;

function bodyJson(m: Message): { text: string; encoding?: string } {
  const body = m.getContent(false) ?? Buffer.alloc(0);
  return isUtf8(body) ? { text: body.toString("utf8") } : { text: body.toString("base64"), encoding: "base64" };
}

/** The HAR entry of `flow`. */
export function harEntry(flow: HTTPFlow): { [key: string]: Json } {
  const request = flow.request;
  const response = flow.response;
  const requestJson: { [key: string]: Json } = {
    method: request.method,
    url: request.prettyUrl,
    httpVersion: request.httpVersion,
    cookies: pairs(request.cookies),
    headers: pairs(request.headers),
    queryString: pairs(request.query),
    headersSize: headersSize(request),
    bodySize: request.rawContent?.length ?? 0,
  };
  if (request.rawContent?.length) requestJson.postData = { mimeType: request.headers.get("content-type") ?? "", ...bodyJson(request) };
  const send = ms(request.timestampStart, request.timestampEnd);
  const wait = response ? ms(request.timestampEnd, response.timestampStart) : -1;
  const receive = response ? ms(response.timestampStart, response.timestampEnd) : -1;
  const responseJson: { [key: string]: Json } = response
    ? {
        status: response.statusCode,
        statusText: response.reason,
        httpVersion: response.httpVersion,
        cookies: response.cookies.fields.map(([name, [value]]) => ({ name, value })),
        headers: pairs(response.headers),
        content: { size: response.getContent(false)?.length ?? 0, mimeType: response.headers.get("content-type") ?? "", ...bodyJson(response) },
        redirectURL: response.headers.get("location") ?? "",
        headersSize: headersSize(response),
        bodySize: response.rawContent?.length ?? 0,
      }
    : { status: 0, statusText: "", httpVersion: "", cookies: [], headers: [], content: { size: 0, mimeType: "" }, redirectURL: "", headersSize: -1, bodySize: -1 };
  if (!response && flow.error) responseJson._error = flow.error.msg;
  const timings = { send: Math.max(send, 0), wait: Math.max(wait, 0), receive: Math.max(receive, 0) };
  return {
    startedDateTime: new Date(request.timestampStart * 1000).toISOString(),
    time: timings.send + timings.wait + timings.receive,
    request: requestJson,
    response: responseJson,
    cache: {},
    timings,
  };
}
