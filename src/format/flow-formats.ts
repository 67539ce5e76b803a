/**
 * The format registry's lowest half: which flow-file formats exist, how an input's format
 * is told from its first bytes (never from its name), and which format an output gets
 * (`--to`, else OUT's extension, else mitm). The codecs themselves live where their layer
 * allows: byte codecs (mitm, msgpack) here in `format/`, codecs that need the flow model
 * (HAR, JSON Lines: cookies, decoded bodies) in `io/formats/`, reached through
 * `io/flow-formats.ts`.
 */
import { UsageError } from "../errors.js";

/** Every flow-file format reflow reads or writes. */
export type FlowFormat = "mitm" | "msgpack" | "har" | "zhar" | "jsonl";

/** What each format is, for `--help`, the README and error messages. */
export const FLOW_FORMATS: Readonly<Record<FlowFormat, { title: string; extensions: readonly string[] }>> = {
  mitm: { title: "mitmproxy flow file (tnetstring)", extensions: [".mitm", ".flows"] },
  msgpack: { title: "reflow msgpack", extensions: [".msgpack"] },
  har: { title: "HAR 1.2 (JSON)", extensions: [".har"] },
  zhar: { title: "HAR 1.2, zlib-compressed", extensions: [".zhar"] },
  jsonl: { title: "JSON Lines (docs/jsonl.md)", extensions: [".jsonl"] },
};

/** Format names `--to` / `--format` accept. */
export const FORMAT_NAMES = Object.keys(FLOW_FORMATS) as FlowFormat[];

/** The reflow msgpack versions this reflow reads (and writes: the newest, or 1 to append to a version-1 file). */
export const MSGPACK_VERSIONS = [1, 2] as const;
/** A reflow msgpack version. */
export type MsgpackVersion = (typeof MSGPACK_VERSIONS)[number];
/** The newest reflow msgpack version, the one new files get. */
export const MSGPACK_NEWEST: MsgpackVersion = 2;

/** The format-and-version line that opens a reflow msgpack file of `version`. */
export function msgpackMagic(version: MsgpackVersion = MSGPACK_NEWEST): Buffer {
  return Buffer.from(`REFLOW-MSGPACK ${version}\n`, "latin1");
}

/** The line that opens a new reflow msgpack file (the newest version). */
export const MSGPACK_MAGIC = msgpackMagic();

/** The version a reflow msgpack file's first bytes name, or null when they name none this reflow reads. */
export function msgpackVersionOf(head: Buffer): MsgpackVersion | null {
  for (const v of MSGPACK_VERSIONS) {
    const magic = msgpackMagic(v);
    if (head.length >= magic.length && head.subarray(0, magic.length).equals(magic)) return v;
  }
  return null;
}
/** What every version of that line starts with (a later version is named, not misread). */
export const MSGPACK_MAGIC_PREFIX = Buffer.from("REFLOW-MSGPACK ", "latin1");

const UTF8_BOM = [0xef, 0xbb, 0xbf];

function isJsonSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * The format of a stream that starts with `head` (its first chunk); an empty input counts
 * as mitm (0 flows). A JSON object whose first key is `log` is HAR, any other JSON object
 * a JSON Lines file; a zlib header is a `.zhar`.
 */
export function detectFormat(head: Buffer): FlowFormat | null {
  if (head.length === 0) return "mitm";
  const c = head[0]!;
  if (c >= 0x30 && c <= 0x39) return "mitm";
  if (head.subarray(0, MSGPACK_MAGIC_PREFIX.length).equals(MSGPACK_MAGIC_PREFIX)) return "msgpack";
  // zlib: CM 8 (deflate), a window of at most 32K, and a header checksum divisible by 31
  if (c === 0x78 && head.length >= 2 && ((c << 8) | head[1]!) % 31 === 0) return "zhar";
  let i = UTF8_BOM.every((b, k) => head[k] === b) ? 3 : 0;
  while (isJsonSpace(head[i])) i++;
  if (head[i] !== 0x7b) return null;
  i++;
  while (isJsonSpace(head[i])) i++;
  if (i >= head.length) return "har"; // a lone `{` ending the first chunk: only HAR opens that way
  return head.subarray(i, i + 5).toString("latin1") === '"log"' ? "har" : "jsonl";
}

/** The format an output path's extension names, or null (then mitm). */
export function formatOfPath(path: string): FlowFormat | null {
  const lower = path.toLowerCase();
  for (const format of FORMAT_NAMES) {
    if (format === "mitm") continue;
    if (FLOW_FORMATS[format].extensions.some((ext) => lower.endsWith(ext))) return format;
  }
  return null;
}

/** The format to write: the one asked for, else the one OUT's extension names, else mitm. */
export function outputFormat(path: string, asked?: string): FlowFormat {
  if (asked !== undefined) {
    if (!(FORMAT_NAMES as string[]).includes(asked))
      throw new UsageError(`unknown output format ${JSON.stringify(asked)} (choose from ${FORMAT_NAMES.join(", ")})`);
    return asked as FlowFormat;
  }
  return formatOfPath(path) ?? "mitm";
}
