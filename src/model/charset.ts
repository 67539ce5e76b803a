/**
 * Text charsets of message bodies: how newest mitmproxy picks one for `.text`
 * (`infer_content_encoding`, mitm-format.md §5) and decoding/encoding with it under
 * Python's codec names. Node's TextDecoder follows the WHATWG label table, which differs
 * from Python's codecs where it matters (WHATWG reads "latin1" and "ascii" as windows-1252,
 * "utf-16" as little-endian without BOM sniffing, and has no UTF-32), so those are done here.
 */
import { isAscii } from "node:buffer";
import { TextDecoder } from "node:util";
import { parseContentType } from "./content-type.js";
import { hasEscapedBytes } from "./surrogate-escape.js";
import type { BodyErrorCode } from "../errors.js";

/** Text that cannot be decoded or encoded with a charset (mitmproxy's ValueError / LookupError). */
export class CharsetError extends Error {
  readonly code = "E_CHARSET" satisfies BodyErrorCode;
  constructor(
    readonly charset: string,
    message: string,
  ) {
    super(message);
    this.name = "CharsetError";
  }
}

/** A latin-1 view of bytes, for byte-regexes (one char per byte). */
function asLatin1(content: Uint8Array, limit = content.length): string {
  return Buffer.from(content.buffer, content.byteOffset, Math.min(limit, content.byteLength)).toString("latin1");
}

function startsWith(content: Uint8Array, ...bytes: number[]): boolean {
  return content.length >= bytes.length && bytes.every((b, i) => content[i] === b);
}

/** `bytes.decode("ascii", "ignore")`. */
function asciiOnly(s: string): string {
  return s.replace(/[^\x00-\x7f]/g, "");
}

/**
 * The charset newest mitmproxy uses to read a body with this Content-Type: a BOM first,
 * then the `charset` parameter, then utf-8 for json, html (unless a `<meta charset>` says
 * otherwise), xml (unless its declaration does), javascript and css (unless `@charset`),
 * else latin-1; gb2312 and gbk widen to gb18030.
 */
export function inferCharset(contentType: string, content: Uint8Array = Buffer.alloc(0)): string {
  let enc: string | undefined;
  if (startsWith(content, 0x00, 0x00, 0xfe, 0xff)) enc = "utf-32be";
  else if (startsWith(content, 0xff, 0xfe, 0x00, 0x00)) enc = "utf-32le";
  else if (startsWith(content, 0xfe, 0xff)) enc = "utf-16be";
  else if (startsWith(content, 0xff, 0xfe)) enc = "utf-16le";
  else if (startsWith(content, 0xef, 0xbb, 0xbf)) enc = "utf-8-sig";
  else enc = parseContentType(contentType)?.params.get("charset");

  // The substring tests are on the raw header value, case-sensitive, as in mitmproxy.
  if (!enc && contentType.includes("json")) enc = "utf8";
  if (!enc && contentType.includes("html")) {
    const m = /<meta[^>]+charset=['"]?([^'">]+)/i.exec(asLatin1(content));
    enc = m ? asciiOnly(m[1]!) : "utf8";
  }
  if (!enc && contentType.includes("xml")) {
    const m = /<\?xml[^?>]+encoding=['"]([^'"?>]+)/i.exec(asLatin1(content));
    enc = m ? asciiOnly(m[1]!) : "utf8";
  }
  if (!enc && (contentType.includes("javascript") || contentType.includes("ecmascript"))) enc = "utf8";
  if (!enc && contentType.includes("text/css")) {
    const m = /^@charset "([^"]+)";/i.exec(asLatin1(content, 1024));
    enc = m ? asciiOnly(m[1]!) : "utf8";
  }
  if (!enc) enc = "latin-1";
  if (["gb2312", "gbk"].includes(enc.toLowerCase())) enc = "gb18030";
  return enc;
}

type Kind =
  | "utf-8"
  | "utf-8-sig"
  | "latin1"
  | "ascii"
  | "cp1252"
  | "utf-16"
  | "utf-16le"
  | "utf-16be"
  | "utf-32"
  | "utf-32le"
  | "utf-32be";

/** Python codec names (normalised) that must not go through the WHATWG table. */
const PYTHON_CODECS: Readonly<Record<string, Kind>> = Object.fromEntries(
  (
    [
      ["utf-8", "utf_8 utf8 u8 utf utf8_ucs2 utf8_ucs4 cp65001"],
      ["utf-8-sig", "utf_8_sig"],
      [
        "latin1",
        "latin_1 latin1 latin iso8859_1 iso_8859_1 8859 cp819 l1 iso_ir_100 iso_8859_1_1987 csisolatin1 ibm819",
      ],
      [
        "ascii",
        "ascii us_ascii 646 us ansi_x3.4_1968 ansi_x3_4_1968 ansi_x3.4_1986 cp367 csascii ibm367 iso646_us iso_646.irv_1991 iso_ir_6",
      ],
      ["cp1252", "cp1252 windows_1252 1252"],
      ["utf-16", "utf_16 u16 utf16"],
      ["utf-16le", "utf_16_le utf_16le unicodelittleunmarked"],
      ["utf-16be", "utf_16_be utf_16be unicodebigunmarked"],
      ["utf-32", "utf_32 u32 utf32"],
      ["utf-32le", "utf_32_le utf_32le"],
      ["utf-32be", "utf_32_be utf_32be"],
    ] as const
  ).flatMap(([kind, names]) => names.split(" ").map((n) => [n, kind as Kind])),
);

/** Python's `encodings.normalize_encoding`, lower-cased: runs of punctuation become `_`, ends trimmed. */
function normalise(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, "_")
    .replace(/^_+|_+$/g, "");
}

/** A WHATWG decoder for a Python codec name, or null when neither knows it. */
function whatwgDecoder(norm: string): TextDecoder | null {
  for (const label of [norm.replace(/_/g, "-"), norm, norm.replace(/_/g, "")]) {
    try {
      return new TextDecoder(label, { fatal: true, ignoreBOM: true });
    } catch {
      /* not a label */
    }
  }
  return null;
}

function resolveCharset(charset: string): Kind | TextDecoder {
  const norm = normalise(charset);
  const kind = PYTHON_CODECS[norm];
  if (kind) return kind;
  const decoder = whatwgDecoder(norm);
  if (!decoder) throw new CharsetError(charset, `unknown encoding: ${charset}`);
  // Node 20's TextDecoder reads windows-1252 as ISO-8859-1 (fixed in later Node releases).
  if (decoder.encoding === "windows-1252") return "cp1252";
  return decoder;
}

/** cp1252's 0x80..0x9F (the rest is ISO-8859-1); 0 marks the five bytes Python leaves undefined. */
const CP1252_HIGH = [
  0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0, 0,
  0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
];

function decodeCp1252(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b < 0x80 || b > 0x9f) out += String.fromCharCode(b);
    else if (CP1252_HIGH[b - 0x80]) out += String.fromCharCode(CP1252_HIGH[b - 0x80]!);
    else throw new Error(`character maps to <undefined> at ${i}`);
  }
  return out;
}

function encodeCp1252(text: string): Buffer {
  const out = Buffer.alloc(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80 || (c >= 0xa0 && c <= 0xff)) out[i] = c;
    else {
      const at = CP1252_HIGH.indexOf(c); // c >= 0x80 here, so the 0 gaps never match
      if (at < 0) throw new Error(`character U+${c.toString(16)} cannot be encoded`);
      out[i] = 0x80 + at;
    }
  }
  return out;
}

const utf8Strict = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function utf16(bytes: Uint8Array, endian: "le" | "be"): string {
  if (bytes.length % 2) throw new Error("truncated data");
  let b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (endian === "be") b = Buffer.from(b).swap16();
  return new TextDecoder("utf-16le", { fatal: true, ignoreBOM: true }).decode(b);
}

function utf32(bytes: Uint8Array, endian: "le" | "be"): string {
  if (bytes.length % 4) throw new Error("truncated data");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const cps: number[] = [];
  for (let i = 0; i < bytes.length; i += 4) {
    const cp = view.getUint32(i, endian === "le");
    if (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw new Error(`code point not in range at ${i}`);
    cps.push(cp);
  }
  let out = "";
  for (let i = 0; i < cps.length; i += 4096) out += String.fromCodePoint(...cps.slice(i, i + 4096));
  return out;
}

function decodeKind(kind: Kind, bytes: Uint8Array): string {
  switch (kind) {
    case "utf-8":
      return utf8Strict.decode(bytes);
    case "utf-8-sig":
      return utf8Strict.decode(startsWith(bytes, 0xef, 0xbb, 0xbf) ? bytes.subarray(3) : bytes);
    case "latin1":
      return asLatin1(bytes);
    case "ascii":
      if (!isAscii(bytes)) throw new Error("ordinal not in range(128)");
      return asLatin1(bytes);
    case "cp1252":
      return decodeCp1252(bytes);
    case "utf-16":
      if (startsWith(bytes, 0xfe, 0xff)) return utf16(bytes.subarray(2), "be");
      return utf16(startsWith(bytes, 0xff, 0xfe) ? bytes.subarray(2) : bytes, "le");
    case "utf-16le":
      return utf16(bytes, "le");
    case "utf-16be":
      return utf16(bytes, "be");
    case "utf-32":
      if (startsWith(bytes, 0x00, 0x00, 0xfe, 0xff)) return utf32(bytes.subarray(4), "be");
      return utf32(startsWith(bytes, 0xff, 0xfe, 0x00, 0x00) ? bytes.subarray(4) : bytes, "le");
    case "utf-32le":
      return utf32(bytes, "le");
    case "utf-32be":
      return utf32(bytes, "be");
  }
}

/** Decodes bytes with a charset named as Python names codecs; strict: throws CharsetError on bad bytes. */
export function decodeText(bytes: Uint8Array, charset: string): string {
  const how = resolveCharset(charset);
  try {
    return typeof how === "string" ? decodeKind(how, bytes) : how.decode(bytes);
  } catch (e) {
    throw new CharsetError(charset, `cannot decode with ${charset}: ${(e as Error).message}`);
  }
}

function checkRange(text: string, max: number): void {
  for (let i = 0; i < text.length; i++)
    if (text.charCodeAt(i) > max)
      throw new Error(`character U+${text.charCodeAt(i).toString(16)} not in range(${max + 1})`);
}

function encodeUtf32(text: string, endian: "le" | "be", bom: boolean): Buffer {
  const cps = [...text].map((c) => c.codePointAt(0)!);
  const out = Buffer.alloc((cps.length + (bom ? 1 : 0)) * 4);
  let o = 0;
  const put = (cp: number): void => {
    if (endian === "le") out.writeUInt32LE(cp, o);
    else out.writeUInt32BE(cp, o);
    o += 4;
  };
  if (bom) put(0xfeff);
  for (const cp of cps) {
    if (cp >= 0xd800 && cp <= 0xdfff) throw new Error("surrogates not allowed");
    put(cp);
  }
  return out;
}

function encodeKind(kind: Kind, text: string): Buffer {
  const utf16le = (): Buffer => {
    if (hasEscapedBytes(text)) throw new Error("surrogates not allowed");
    return Buffer.from(text, "utf16le");
  };
  switch (kind) {
    case "utf-8":
    case "utf-8-sig": {
      if (hasEscapedBytes(text)) throw new Error("surrogates not allowed");
      const body = Buffer.from(text, "utf8");
      return kind === "utf-8" ? body : Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]);
    }
    case "latin1":
      checkRange(text, 0xff);
      return Buffer.from(text, "latin1");
    case "ascii":
      checkRange(text, 0x7f);
      return Buffer.from(text, "latin1");
    case "cp1252":
      return encodeCp1252(text);
    case "utf-16": // Python writes a BOM in the machine's order, little-endian here
      return Buffer.concat([Buffer.from([0xff, 0xfe]), utf16le()]);
    case "utf-16le":
      return utf16le();
    case "utf-16be":
      return utf16le().swap16();
    case "utf-32":
      return encodeUtf32(text, "le", true);
    case "utf-32le":
      return encodeUtf32(text, "le", false);
    case "utf-32be":
      return encodeUtf32(text, "be", false);
  }
}

const SINGLE_BYTE = /^(ibm866|iso-8859-\d+|koi8-[ru]|macintosh|windows-\d+|x-mac-cyrillic)$/;
const encodeTables = new Map<string, Map<number, number>>();

/** Char -> byte table of a WHATWG single-byte encoding, built by decoding every byte once. */
function singleByteTable(decoder: TextDecoder): Map<number, number> {
  let table = encodeTables.get(decoder.encoding);
  if (table) return table;
  table = new Map();
  const lenient = new TextDecoder(decoder.encoding);
  for (let b = 0; b < 256; b++) {
    const ch = lenient.decode(Uint8Array.of(b));
    if (ch.length === 1 && ch !== "\ufffd" && !table.has(ch.charCodeAt(0))) table.set(ch.charCodeAt(0), b);
  }
  encodeTables.set(decoder.encoding, table);
  return table;
}

/**
 * True when `encodeText(text, charset)` is the text's UTF-8 bytes for every text without
 * escaped bytes, or with `ascii` for every ASCII text: then a body already in UTF-8 bytes
 * needs no trip through a string. False for charsets it cannot tell (unknown ones).
 */
export function encodesAsUtf8(charset: string, ascii: boolean): boolean {
  let how: Kind | TextDecoder;
  try {
    how = resolveCharset(charset);
  } catch {
    return false;
  }
  if (how === "utf-8" || (typeof how !== "string" && how.encoding === "utf-8")) return true;
  if (!ascii) return false;
  // WHATWG's single-byte encodings all keep ASCII as it is
  return typeof how === "string"
    ? how === "latin1" || how === "ascii" || how === "cp1252"
    : SINGLE_BYTE.test(how.encoding);
}

/**
 * Encodes text with a charset named as Python names codecs; throws CharsetError when a
 * character does not fit, or for charsets Node cannot encode (multi-byte legacy ones such
 * as Shift_JIS or GB18030; mitmproxy then falls back to UTF-8, and so does Message.text).
 */
export function encodeText(text: string, charset: string): Buffer {
  const how = resolveCharset(charset);
  try {
    if (typeof how === "string") return encodeKind(how, text);
    if (how.encoding === "utf-8") return encodeKind("utf-8", text);
    if (!SINGLE_BYTE.test(how.encoding)) throw new Error(`cannot encode to ${how.encoding} here`);
    const table = singleByteTable(how);
    const out = Buffer.alloc(text.length);
    for (let i = 0; i < text.length; i++) {
      const b = table.get(text.charCodeAt(i));
      if (b === undefined) throw new Error(`character U+${text.charCodeAt(i).toString(16)} cannot be encoded`);
      out[i] = b;
    }
    return out;
  } catch (e) {
    if (e instanceof CharsetError) throw e;
    throw new CharsetError(charset, `cannot encode with ${charset}: ${(e as Error).message}`);
  }
}
