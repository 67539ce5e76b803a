/**
 * A flow's request and response as HTTP/1 bytes, as mitmproxy's `raw_request`,
 * `raw_response` and `raw` exports give them: the body decoded (Content-Encoding dropped,
 * Content-Length set to the decoded size), the header fields as recorded, byte for byte.
 */
import type { Headers, HTTPFlow, Request, Response } from "../model/index.js";

/** Why a flow has nothing to export in a format (its message is missing, or its body was not recorded). */
export class NothingToExport extends Error {}

/** The header block with the body decoded: Content-Encoding left out, Content-Length the decoded size. */
function headerBlock(headers: Headers, body: Buffer, decodedFrom: string | undefined): Buffer {
  const lines: Buffer[] = [];
  for (const [name, value] of headers.fields) {
    const n = name.toString("latin1").toLowerCase();
    if (decodedFrom && n === "content-encoding") continue;
    if (decodedFrom && n === "content-length") {
      lines.push(Buffer.concat([name, Buffer.from(`: ${body.length}\r\n`)]));
      continue;
    }
    lines.push(Buffer.concat([name, Buffer.from(": "), value, Buffer.from("\r\n")]));
  }
  return Buffer.concat(lines);
}

function firstLine(request: Request): string {
  const version = request.httpVersion;
  switch (request.firstLineFormat) {
    case "authority":
      return `${request.method} ${request.authority} ${version}`;
    case "absolute":
      return `${request.method} ${request.url} ${version}`;
    default:
      return `${request.method} ${request.path} ${version}`;
  }
}

function assemble(head: string, message: Request | Response, what: string): Buffer {
  const raw = message.rawContent;
  if (raw === null) throw new NothingToExport(`${what} content missing`);
  const body = message.getContent(false) ?? raw;
  const encoded = body !== raw ? message.headers.get("content-encoding") : undefined;
  return Buffer.concat([Buffer.from(`${head}\r\n`, "latin1"), headerBlock(message.headers, body, encoded), Buffer.from("\r\n"), body]);
}

/** The request as HTTP/1 bytes. */
export function rawRequest(flow: HTTPFlow): Buffer {
  return assemble(firstLine(flow.request), flow.request, "request");
}

/** The response as HTTP/1 bytes. */
export function rawResponse(flow: HTTPFlow): Buffer {
  const response = flow.response;
  if (!response) throw new NothingToExport("no response");
  return assemble(`${response.httpVersion} ${response.statusCode} ${response.reason}`.trimEnd(), response, "response");
}

/** A WebSocket's messages as mitmproxy's `raw` export lists them: `[OUTGOING] ` or `[INCOMING] ` and the content, one a line. */
function webSocketMessages(flow: HTTPFlow): Buffer[] {
  const ws = flow.websocket;
  if (!ws) return [];
  const lines = ws.messages.map((m) => Buffer.concat([Buffer.from(m.fromClient ? "[OUTGOING] " : "[INCOMING] "), m.content]));
  return [Buffer.from("\r\n\r\n"), Buffer.concat(lines.flatMap((l, i) => (i ? [Buffer.from("\n"), l] : [l])))];
}

/** Request and response (and WebSocket messages), separated by an empty line; either alone when the other is missing. */
export function rawExchange(flow: HTTPFlow): Buffer {
  const has = (m: Request | Response | null): boolean => m !== null && m.rawContent !== null;
  const request = has(flow.request);
  const response = has(flow.response);
  if (request && response)
    return Buffer.concat([rawRequest(flow), Buffer.from("\r\n\r\n"), rawResponse(flow), ...webSocketMessages(flow)]);
  if (request) return rawRequest(flow);
  if (response) return rawResponse(flow);
  throw new NothingToExport("no request or response content");
}
