/**
 * HAR 1.2 entries as flows, as newest mitmproxy imports them (its `io/har.py`; checked
 * against its import of every file in testdata's `har_files/`): both header shapes
 * (`{name, value}` and `[name, value]`), bodies kept decoded (Content-Encoding dropped,
 * Content-Length set), text bodies in the charset their Content-Type names, base64 bodies,
 * a missing `content.text` as an empty body, the server address from `serverIPAddress`.
 * Where mitmproxy fails, reflow goes on: `postData` with `params` and no `text` becomes a
 * form body.
 */
import { isAscii } from "node:buffer";
import { createHash } from "node:crypto";
import { FlowStateError } from "../../errors.js";
import type { TDict } from "../../format/tnetstring.js";
import {
  CharsetError,
  HTTPFlow,
  Request,
  Response,
  encodeText,
  encodesAsUtf8,
  encodeUtf8Escaped,
  inferCharset,
} from "../../model/index.js";
import { DetachedState } from "../../format/detached-state.js";
import { LongJsonString } from "../../format/json-string-bytes.js";
import { clientConnDict, flowDict, serverConnDict } from "./new-flow-state.js";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type JsonObject = { [key: string]: any };

function schema(message: string): never {
  throw new FlowStateError("E_FLOW_SCHEMA", message);
}

function objectAt(parent: JsonObject, key: string, where: string): JsonObject {
  const v = parent[key];
  if (typeof v !== "object" || v === null || Array.isArray(v)) schema(`${where}${key} is not an object`);
  return v as JsonObject;
}

function stringAt(parent: JsonObject, key: string, where: string): string {
  const v = parent[key];
  if (typeof v !== "string") schema(`${where}${key} is not a string`);
  return v;
}

/** HAR headers (`[{name, value}]` from browsers and most tools, `[[name, value]]` from Slack) as byte pairs. */
export function harHeaders(list: unknown, where: string): [Buffer, Buffer][] {
  if (!Array.isArray(list)) schema(`${where}headers is not a list`);
  return list.map((h, i) => {
    let name: unknown;
    let value: unknown;
    if (Array.isArray(h)) [name, value] = h;
    else if (typeof h === "object" && h !== null) ({ name, value } = h as JsonObject);
    if (typeof name !== "string" || typeof value !== "string") schema(`${where}headers[${i}] has no name and value`);
    return [Buffer.from(name, "utf8"), Buffer.from(value, "utf8")];
  });
}

/**
 * An ISO 8601 time as Python's `datetime.fromisoformat(...).timestamp()` reads it: the
 * fraction to the microsecond (further digits cut), the offset applied, no offset = UTC.
 */
export function harTimestamp(text: string): number {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:(Z)|([+-])(\d{2}):?(\d{2})(?::?(\d{2})(?:[.,](\d+))?)?)?$/.exec(
      text,
    );
  if (!m) schema(`startedDateTime ${JSON.stringify(text)} is not an ISO 8601 time`);
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om, os] = m;
  let seconds = Date.UTC(+y!, +mo! - 1, +d!, +h!, +mi!, +(s ?? 0)) / 1000;
  if (sign) seconds -= (sign === "-" ? -1 : 1) * (+oh! * 3600 + +om! * 60 + +(os ?? 0));
  const micros = frac ? +frac.slice(0, 6).padEnd(6, "0") : 0;
  return (seconds * 1e6 + micros) / 1e6; // as Python's timedelta.total_seconds()
}

function httpVersion(text: unknown): string {
  switch (text) {
    case "http/2.0":
    case "HTTP/2":
      return "HTTP/2";
    case "HTTP/3":
      return "HTTP/3";
    default:
      return "HTTP/1.1";
  }
}

function headerValue(fields: [Buffer, Buffer][], name: string): string | undefined {
  return fields.find(([n]) => n.toString("latin1").toLowerCase() === name)?.[1].toString("utf8");
}

/** The fields without Content-Encoding, unless that is `identity` (which mitmproxy's decoding may leave in place). */
function withoutCoding(fields: [Buffer, Buffer][]): [Buffer, Buffer][] {
  const ce = headerValue(fields, "content-encoding");
  if (ce === undefined || ce.trim().toLowerCase() === "identity") return fields;
  return fields.filter(([n]) => n.toString("latin1").toLowerCase() !== "content-encoding");
}

/** The request body's text: `postData.text`, else its `params` as a form. */
function postDataText(postData: unknown): string | LongJsonString {
  if (typeof postData !== "object" || postData === null) return "";
  const { text, params } = postData as JsonObject;
  if (typeof text === "string" || text instanceof LongJsonString) return text;
  if (Array.isArray(params))
    return new URLSearchParams(
      params.map((p: JsonObject): [string, string] => [String(p?.name ?? ""), String(p?.value ?? "")]),
    ).toString();
  return "";
}

/**
 * A long body's bytes when `charset` would encode its text as the UTF-8 bytes it has (a
 * copy: they may view the read chunk), else null.
 */
function utf8Body(text: LongJsonString, charset: string): Buffer | null {
  return encodesAsUtf8(charset, isAscii(text.utf8)) ? Buffer.from(text.utf8) : null;
}

/** Base64 text decoded a slice at a time (a multiple of 4 characters): a string of over 512 MB cannot be made. */
const BASE64_TEXT_SLICE = 4 << 20;

/** The bytes that ASCII base64 text stands for, as Buffer.from(text, "base64") gives them. */
function base64OfAscii(ascii: Buffer): Buffer {
  const whole = (): Buffer => Buffer.from(ascii.toString("latin1"), "base64");
  if (ascii.length <= BASE64_TEXT_SLICE) return whole();
  const parts: Buffer[] = [];
  for (let i = 0; i < ascii.length; i += BASE64_TEXT_SLICE) {
    const slice = ascii.toString("latin1", i, Math.min(i + BASE64_TEXT_SLICE, ascii.length));
    // white space or padding inside would shift the slices' boundaries off the 4-character groups
    if (/[^A-Za-z0-9+/_-]/.test(i + BASE64_TEXT_SLICE < ascii.length ? slice : slice.replace(/=+$/, ""))) return whole();
    parts.push(Buffer.from(slice, "base64"));
  }
  return Buffer.concat(parts);
}

/** The response body's bytes: base64 decoded, or text in the charset mitmproxy would pick. */
function responseBody(content: JsonObject, contentType: string): Buffer {
  let text = content.text ?? "";
  const encoding = content.encoding;
  if (text instanceof LongJsonString) {
    // read from its bytes, never made a string when that gives the same bytes
    if (encoding === "base64") return isAscii(text.utf8) ? base64OfAscii(text.utf8) : Buffer.from(text.toString(), "base64");
    const body = utf8Body(text, typeof encoding === "string" && encoding ? encoding : inferCharset(contentType));
    if (body) return body;
    text = text.toString();
  }
  if (typeof text !== "string") schema("response.content.text is not a string");
  if (encoding === "base64") return Buffer.from(text, "base64");
  try {
    return encodeText(text, typeof encoding === "string" && encoding ? encoding : inferCharset(contentType));
  } catch (e) {
    if (!(e instanceof CharsetError)) throw e;
    return encodeUtf8Escaped(text);
  }
}

/**
 * An id (of the flow or a connection) that is the same each time the same entry is read (a
 * name-based UUID): HAR has no ids, `diff` pairs flows by id, and the same HAR should make
 * the same flow file.
 */
function entryId(part: string, index: number, started: string, method: string, url: string): string {
  const h = createHash("sha1").update(`reflow-har\0${part}\0${index}\0${started}\0${method}\0${url}`).digest();
  h[6] = (h[6]! & 0x0f) | 0x50; // version 5
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC 4122 variant
  const x = h.toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`;
}

/** One HAR entry (the `index`-th of its file) as a version-21 HTTP flow dict. */
export function harEntryToFlowState(entry: unknown, index = 0): TDict {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) schema("the entry is not an object");
  const e = entry as JsonObject;
  const request = objectAt(e, "request", "");
  const response = objectAt(e, "response", "");
  const start = harTimestamp(stringAt(e, "startedDateTime", ""));
  const time = e.time;
  if (typeof time !== "number") schema("time is not a number");
  const end = start + time / 1000.0;
  const url = stringAt(request, "url", "request.");
  const serverIp = e.serverIPAddress;
  const port = url.startsWith("http://") ? 80 : 443;

  const id = (part: string) => entryId(part, index, e.startedDateTime, String(request.method), url);
  const flow = new HTTPFlow(
    new DetachedState(
      flowDict("http", {
        id: id("flow"),
        client: clientConnDict({
          id: id("client"),
          peername: ["127.0.0.1", 0],
          sockname: ["127.0.0.1", 0],
          timestampStart: start,
          timestampEnd: end,
        }),
        server: serverConnDict({
          id: id("server"),
          address: typeof serverIp === "string" && serverIp ? [serverIp, port] : null,
        }),
        // mitmproxy takes the time of the import; the entry's own time makes the same HAR the same flows
        created: start,
      }),
    ),
  );
  const dict = flow.state.top();
  dict.set("request", null);
  dict.set("response", null);
  dict.set("websocket", null);

  // mitmproxy stores each body encoded with its Content-Encoding and then decodes it: that
  // comes to the body itself, without the header and with Content-Length set. Done here
  // without the trip through the codec (zlib contexts cost memory on a large HAR).
  const requestHeaders = harHeaders(request.headers, "request.");
  const requestFields = withoutCoding(requestHeaders);
  const requestBody = postDataText(request.postData);
  const long = requestBody instanceof LongJsonString;
  const req = Request.make(
    stringAt(request, "method", "request."),
    url,
    long ? Buffer.alloc(0) : requestBody,
    requestFields,
  );
  if (long) {
    // text is stored in the charset the Content-Type implies: the bytes, when they are that
    const bytes = utf8Body(requestBody, inferCharset(req.headers.get("content-type") ?? ""));
    if (bytes) req.content = bytes;
    else req.text = requestBody.toString();
  }
  const status = response.status;
  if (typeof status !== "number") schema("response.status is not a number");
  const responseHeaders = harHeaders(response.headers, "response.");
  const contentType = headerValue(responseHeaders, "content-type") ?? "";
  const body = responseBody(objectAt(response, "content", "response."), contentType);
  const resp = Response.make(status);
  resp.headers = withoutCoding(responseHeaders);
  if (resp.headers.length < responseHeaders.length) resp.content = body;
  else resp.rawContent = body;

  req.timestampStart = start;
  req.timestampEnd = end;
  resp.timestampStart = start;
  resp.timestampEnd = end;
  req.httpVersion = httpVersion(request.httpVersion);
  resp.httpVersion = httpVersion(response.httpVersion);
  req.decode();
  resp.decode();
  flow.request = req;
  flow.response = resp;
  return dict;
}
