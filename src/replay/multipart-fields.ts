/**
 * The named fields of a `multipart/form-data` body (RFC 7578), as loosely as mitmproxy's
 * `decode_multipart`: parts without a `name` are skipped, anything malformed yields no fields.
 */
import { parseContentType } from "../model/index.js";

const NAME = /\bname="([^"]+)"/i;
const CRLF = Buffer.from("\r\n");
const BLANK_LINE = Buffer.from("\r\n\r\n");

/** The fields as [name, value] pairs in body order; empty when the body is not multipart. */
export function multipartFields(contentType: string | null, body: Buffer | null): [string, Buffer][] {
  if (!contentType || !body) return [];
  const ct = parseContentType(contentType);
  const boundary = ct?.params.get("boundary")?.replace(/^"(.*)"$/, "$1");
  if (!ct || ct.type !== "multipart" || ct.subtype !== "form-data" || !boundary) return [];
  const delimiter = Buffer.from(`--${boundary}`, "latin1");
  const fields: [string, Buffer][] = [];
  let at = body.indexOf(delimiter);
  while (at >= 0) {
    const start = at + delimiter.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) break; // the closing delimiter
    const next = body.indexOf(delimiter, start);
    const part = body.subarray(start, next < 0 ? body.length : next);
    const headEnd = part.indexOf(BLANK_LINE);
    if (headEnd >= 0) {
      const name = NAME.exec(part.toString("latin1", 0, headEnd))?.[1];
      let value = part.subarray(headEnd + BLANK_LINE.length);
      // The CRLF before the next delimiter belongs to the delimiter (RFC 2046 §5.1.1).
      if (value.subarray(-2).equals(CRLF)) value = value.subarray(0, -2);
      if (name !== undefined) fields.push([Buffer.from(name, "latin1").toString("utf8"), value]);
    }
    at = next;
  }
  return fields;
}
