/**
 * Flows as HAR 1.2 entries, as newest mitmproxy's `savehar` writes them (its own flows
 * export to its golden files in testdata; see test/io/formats/har-writer.test.ts): timings
 * from the connection timestamps (a server connection's setup counted once), cookies,
 * `postData` for POST/PUT/PATCH, binary bodies as base64, flows without a response as
 * status 0 with `_error`, WebSocket messages as `_webSocketMessages`. Only HTTP flows have a
 * place in HAR: the others are left out and counted.
 */
import { isAscii, isUtf8 } from "node:buffer";
import {
  type Flow,
  type Headers,
  type HTTPFlow,
  type Response,
  encodesAsUtf8,
  inferCharset,
} from "../../model/index.js";

/** A HAR JSON value. */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** `{"log": ...}` up to the first entry: what opens a HAR file. */
export function harOpening(creator: { name: string; version: string }): string {
  const head = { version: "1.2", creator: { name: creator.name, version: creator.version, comment: "" }, pages: [] };
  return `{"log": ${JSON.stringify(head).slice(0, -1)}, "entries": [\n`;
}

/** What closes a HAR file after its last entry. */
export const HAR_CLOSING = "\n]}}\n";

/**
 * An entry whose response text is left to be written from its bytes: `entry` holds
 * BODY_PLACEHOLDER in its place, `body` the text's UTF-8 bytes, or the bytes of a binary
 * body when `base64` (its text is their base64).
 */
export interface HarEntryWithBody {
  entry: { [key: string]: Json };
  body: Buffer | null;
  base64: boolean;
}

/** Where responseJson leaves a long body to be written from its bytes. */
interface BodyApart {
  body: Buffer | null;
  base64: boolean;
}

/** What stands for a response text written apart (see HarEntryWithBody). */
export const BODY_PLACEHOLDER = "\u0000reflow: the response body\u0000";

/**
 * Bodies this long are written from their bytes: made a string, then JSON, then bytes again,
 * a 1 GB export's bodies left large strings that the young generation's collections moved
 * to the old one, there until a full collection.
 */
const LONG_BODY = 8 << 10;

/** Turns HTTP flows into HAR entries, remembering the server connections already timed. */
export class HarEntryMaker {
  private readonly serversSeen = new Set<string>();

  /** The flow's entry, or null when it is not an HTTP flow (HAR has no place for it). */
  entry(flow: Flow): { [key: string]: Json } | null {
    return flow.type === "http" ? this.httpEntry(flow as HTTPFlow, null) : null;
  }

  /** The flow's entry with a long response text left to be written from its bytes, or null (as `entry`). */
  entryWithBody(flow: Flow): HarEntryWithBody | null {
    if (flow.type !== "http") return null;
    const apart: BodyApart = { body: null, base64: false };
    const entry = this.httpEntry(flow as HTTPFlow, apart);
    return { entry, body: apart.body, base64: apart.base64 };
  }

  private httpEntry(flow: HTTPFlow, apart: BodyApart | null): { [key: string]: Json } {
    const server = flow.readConnections().server;
    const request = flow.request;
    const response = flow.response;
    let connect = -1.0;
    let ssl = -1.0;
    if (!this.serversSeen.has(server.id) && server.timestampTcpSetup) {
      connect = 1000 * (server.timestampTcpSetup - server.timestampStart!);
      if (server.timestampTlsSetup) ssl = 1000 * (server.timestampTlsSetup - server.timestampTcpSetup);
      this.serversSeen.add(server.id);
    }
    const requestEnd = request.timestampEnd;
    const send = requestEnd ? 1000 * (requestEnd - request.timestampStart) : 0;
    const wait = response && requestEnd ? 1000 * (response.timestampStart - requestEnd) : 0;
    const responseEnd = response?.timestampEnd;
    const receive = response && responseEnd ? 1000 * (responseEnd - response.timestampStart) : 0;
    const timings = { connect, ssl, send, receive, wait };
    let time = 0;
    for (const v of Object.values(timings)) if (v >= 0) time += v;

    const method = request.method;
    const requestJson: { [key: string]: Json } = {
      method,
      url: method === "CONNECT" ? `https://${request.prettyUrl}/` : request.prettyUrl,
      httpVersion: request.httpVersion,
      cookies: nameValues(request.cookies),
      headers: nameValues(request.headers),
      queryString: nameValues(request.query),
      headersSize: headersSize(request.headers),
      bodySize: request.rawContent?.length ?? 0,
    };
    if (method === "POST" || method === "PUT" || method === "PATCH")
      requestJson.postData = {
        mimeType: request.headers.get("content-type") ?? "",
        text: request.getText(false),
        params: nameValues(request.urlencodedForm),
      };

    const entry: { [key: string]: Json } = {
      startedDateTime: isoTimestamp(request.timestampStart),
      time,
      request: requestJson,
      response: response ? responseJson(response, apart) : noResponseJson(flow.error?.msg ?? null),
      cache: {},
      timings,
    };
    const peer = server.peername;
    if (peer) entry.serverIPAddress = String(peer[0]);
    const ws = flow.websocket;
    if (ws) {
      entry._resourceType = "websocket";
      entry._webSocketMessages = ws.messages.map((m) => ({
        type: m.fromClient ? "send" : "receive",
        time: m.timestamp,
        opcode: m.type,
        data: m.isText ? m.text : m.content.toString("base64"),
      }));
    }
    return entry;
  }
}

function responseJson(response: Response, apart: BodyApart | null): { [key: string]: Json } {
  const raw = response.rawContent;
  const content = response.getContent(false); // an undecodable body as stored
  const size = raw?.length ?? 0;
  const headers = response.headers;
  const body: { [key: string]: Json } = {
    size,
    compression: (content?.length ?? 0) - size,
    mimeType: headers.get("content-type") ?? "",
  };
  if (content && content.length && isMostlyBinary(content)) {
    body.encoding = "base64";
    if (apart && content.length >= LONG_BODY) {
      body.text = BODY_PLACEHOLDER;
      apart.body = content;
      apart.base64 = true;
    } else body.text = content.toString("base64");
  } else if (
    apart &&
    content &&
    content.length >= LONG_BODY &&
    isUtf8Text(content, headers.get("content-type") ?? "")
  ) {
    body.text = BODY_PLACEHOLDER;
    apart.body = content;
  } else body.text = response.getText(false) ?? "";
  return {
    status: response.statusCode,
    statusText: response.reason,
    httpVersion: response.httpVersion,
    cookies: response.cookies.fields.map(([name, [value, attrs]]) => {
      const cookie: { [key: string]: Json } = {
        name,
        value,
        path: attrs.has("path") ? (attrs.get("path") ?? null) : "/",
        domain: attrs.has("domain") ? (attrs.get("domain") ?? null) : "",
        httpOnly: attrs.has("httpOnly"),
        secure: attrs.has("secure"),
      };
      if (attrs.has("sameSite")) cookie.sameSite = attrs.get("sameSite") ?? null;
      return cookie;
    }),
    headers: nameValues(headers),
    content: body,
    redirectURL: headers.get("location") ?? "",
    headersSize: headersSize(headers),
    bodySize: size,
  };
}

/** True when the body's text (as `getText` reads it) is its bytes read as UTF-8. */
function isUtf8Text(content: Buffer, contentType: string): boolean {
  return isUtf8(content) && encodesAsUtf8(inferCharset(contentType, content), isAscii(content));
}

function noResponseJson(error: string | null): { [key: string]: Json } {
  return {
    status: 0,
    statusText: "",
    httpVersion: "",
    headers: [],
    cookies: [],
    content: {},
    redirectURL: "",
    headersSize: -1,
    bodySize: -1,
    _transferSize: 0,
    _error: error,
  };
}

function nameValues(fields: Iterable<readonly [string, string]> | { fields: [string, string][] }): Json[] {
  const list = Symbol.iterator in fields ? fields : fields.fields;
  return [...list].map(([name, value]) => ({ name, value }));
}

/**
 * `headersSize` as mitmproxy computes it: the length of Python's repr of its Headers
 * object, `Headers[(b'name', b'value'), ...]` (not of the header block).
 */
export function headersSize(headers: Headers): number {
  let n = "Headers[]".length;
  const fields = headers.fields;
  for (const [name, value] of fields) n += 4 + bytesReprLength(name) + bytesReprLength(value); // "(", ", ", ")"
  return n + Math.max(0, fields.length - 1) * 2; // ", " between fields
}

/** The length of Python's repr of a bytes value (`b'…'`). */
function bytesReprLength(b: Buffer): number {
  const quote = b.includes(0x27) && !b.includes(0x22) ? 0x22 : 0x27;
  let n = 3;
  for (const c of b) {
    if (c === quote || c === 0x5c || c === 0x09 || c === 0x0a || c === 0x0d) n += 2;
    else if (c < 0x20 || c >= 0x7f) n += 4;
    else n += 1;
  }
  return n;
}

/** mitmproxy's guess that a body is binary (strutils.is_mostly_bin), from its first ~100 bytes. */
export function isMostlyBinary(content: Buffer): boolean {
  let s = content;
  if (s.length > 100) {
    s = s.subarray(0, 100);
    // cut before a character that starts at 100..103, not inside a UTF-8 sequence
    for (let cut = 100; cut < Math.min(104, content.length); cut++)
      if (content[cut]! >> 6 !== 0b10) {
        s = content.subarray(0, cut);
        break;
      }
  }
  let low = 0;
  let high = 0;
  for (const c of s) {
    if (c < 9 || (c > 13 && c < 32)) low++;
    else if (c > 126) high++;
  }
  const ascii = s.length - low - high;
  if (ascii / s.length > 0.7) return false;
  if ((ascii + high) / s.length > 0.95 && isUtf8(s)) return false;
  return true;
}

/**
 * A Unix time as Python's `datetime.fromtimestamp(t, timezone.utc).isoformat()`:
 * microseconds rounded half to even, left out when zero, `+00:00`.
 */
export function isoTimestamp(t: number): string {
  let whole = Math.trunc(t);
  let us = roundHalfEven((t - whole) * 1e6);
  if (us >= 1e6) {
    us -= 1e6;
    whole += 1;
  } else if (us < 0) {
    us += 1e6;
    whole -= 1;
  }
  const date = new Date(whole * 1000).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
  return `${date}${us ? `.${String(us).padStart(6, "0")}` : ""}+00:00`;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
