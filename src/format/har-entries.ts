/**
 * Streams the entries out of a HAR file (`{"log": {..., "entries": [ {...}, ... ]}}`) one
 * at a time, whatever the file's size: a byte scanner follows the nesting (strings and
 * escapes included) and hands each entry's bytes to JSON.parse; everything else of the
 * document is kept (it is small) and parsed at the end, so a HAR broken anywhere is
 * reported, after every whole entry before the damage. No model here: see io/formats/.
 */
import { isUtf8 } from "node:buffer";
import { FlowReadError } from "../errors.js";
import { LongJsonString, unescapeJsonString } from "./json-string-bytes.js";

/**
 * One entry of `log.entries`, with where it starts in the file and its number. Its bytes may
 * view a read chunk: read `value` before asking for the next batch.
 */
export class HarEntry {
  constructor(
    private readonly bytes: Buffer,
    private readonly file: string,
    readonly offset: number,
    readonly index: number,
    /** its long string values, as [start, end) of their content (quotes excluded) and whether they hold escapes */
    private readonly longStrings: readonly LongSpan[] = [],
  ) {}

  /**
   * The entry parsed, each time it is read: parsed one by one as flows are made (not a whole
   * batch ahead), an entry's strings are gone before the young generation's next collection
   * would move them to the old one, where they would wait for a full collection. A long body
   * (`response.content.text`, `request.postData.text`) is a LongJsonString.
   */
  get value(): unknown {
    try {
      return this.longStrings.length ? parseCut(this.bytes, this.longStrings) : JSON.parse(this.bytes.toString("utf8"));
    } catch (e) {
      throw new FlowReadError(
        "E_FLOW_CORRUPT",
        this.file,
        this.offset,
        this.index,
        `not a valid HAR file: entry #${this.index}: ${(e as Error).message}`,
      );
    }
  }
}

/** A long string value of an entry: where its content starts and ends in the entry, and whether it holds a backslash. */
interface LongSpan {
  start: number;
  end: number;
  escaped: boolean;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/**
 * String values this long are cut out of an entry before JSON.parse and read from the bytes:
 * a body as bytes (LongJsonString), anything else as a string. Shorter ones cost more to
 * cut than to parse.
 */
const LONG_STRING = 8 << 10;
const CUT = "\0"; // a cut string's stand-in: NUL and its number (an entry with an escaped NUL is never cut)

/** An entry parsed with its long strings cut out, then put back: bodies as bytes, the rest as strings. */
function parseCut(bytes: Buffer, spans: readonly LongSpan[]): unknown {
  if (bytes.includes("\\u0000")) return JSON.parse(bytes.toString("utf8"));
  const pieces: string[] = [];
  let from = 0;
  for (let k = 0; k < spans.length; k++) {
    pieces.push(bytes.toString("utf8", from, spans[k]!.start), `\\u0000${k}`);
    from = spans[k]!.end;
  }
  pieces.push(bytes.toString("utf8", from));
  const entry = JSON.parse(pieces.join("")) as unknown;
  const long = (k: number): LongJsonString | string => {
    const { start, end, escaped } = spans[k]!;
    const raw = bytes.subarray(start, end);
    const utf8 = escaped ? unescapeJsonString(raw) : raw;
    if (utf8 && isUtf8(utf8)) return new LongJsonString(utf8);
    // a bad escape throws here, as damage; text that is not UTF-8 reads as JSON.parse reads it
    return JSON.parse(`"${raw.toString("utf8")}"`) as string;
  };
  let left = spans.length;
  const body = (parent: unknown, key: string): void => {
    const v = (parent as Record<string, unknown> | null | undefined)?.[key];
    if (typeof v === "string" && v.startsWith(CUT)) {
      (parent as Record<string, unknown>)[key] = long(+v.slice(1));
      left--;
    }
  };
  if (typeof entry === "object" && entry !== null) {
    const { request, response } = entry as Record<string, Record<string, unknown> | undefined>;
    body(response?.content, "text");
    body(request?.postData, "text");
  }
  return left ? putBack(entry, (k) => String(long(k))) : entry;
}

/** `value` with every cut string left in it put back. */
function putBack(value: unknown, long: (k: number) => string): unknown {
  if (typeof value === "string") return value.startsWith(CUT) ? long(+value.slice(1)) : value;
  if (Array.isArray(value)) for (let i = 0; i < value.length; i++) value[i] = putBack(value[i], long);
  else if (typeof value === "object" && value !== null && !(value instanceof LongJsonString))
    for (const [k, v] of Object.entries(value)) (value as Record<string, unknown>)[k] = putBack(v, long);
  return value;
}

/** Splits HAR bytes into entries, in batches (those whole in each chunk read). */
export async function* harEntries(
  chunks: AsyncIterable<Buffer>,
  file: string,
  release?: (chunk: Buffer) => void,
): AsyncGenerator<HarEntry[]> {
  /** open containers: their kind and, in an object, the last key read */
  const kinds: number[] = [];
  const keys: (string | null)[] = [];
  let expectKey = false;
  let inString = false;
  let escaped = false;
  let keyParts: Buffer[] | null = null; // the key string being read at depth 1 or 2
  let entryParts: Buffer[] | null = null; // the entry being read
  let entryStart = 0;
  let longStrings: LongSpan[] = []; // the entry's long string values so far
  let stringStart = -1; // file offset of the content of the string value being read in an entry (-1: a key, or outside)
  let stringEscaped = false;
  let index = 0;
  let base = 0; // file offset of the chunk being scanned
  let first = true;
  const skeleton: Buffer[] = []; // the document outside log.entries' items, to be checked at the end
  let inEntries = false;

  const fail = (at: number, detail: string): never => {
    throw new FlowReadError("E_FLOW_CORRUPT", file, at, index, `not a valid HAR file: ${detail}`);
  };

  for await (let chunk of chunks) {
    if (first) {
      first = false;
      if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) {
        chunk = chunk.subarray(3);
        base = 3;
      }
    }
    const batch: HarEntry[] = [];
    let copyFrom = 0; // start of this chunk's bytes not yet given to the skeleton or an entry
    let i = 0;
    const n = chunk.length;
    let q = -2; // the next quote and backslash at or after i (-1: none left in this chunk)
    let b = -2;
    try {
      while (i < n) {
        if (inString) {
          // the hot path (bodies are long strings): jump to the next quote or backslash,
          // each looked up once per chunk position (a body of many `\n` must not rescan)
          if (escaped) {
            escaped = false;
            i++;
            continue;
          }
          if (q !== -1 && q < i) q = chunk.indexOf(QUOTE, i);
          if (b !== -1 && b < i) b = chunk.indexOf(BACKSLASH, i);
          if (b >= 0 && (q < 0 || b < q)) {
            i = b + 1;
            escaped = true;
            stringEscaped = true;
            continue;
          }
          const end = q < 0 ? n : q;
          if (keyParts) keyParts.push(chunk.subarray(i, end));
          i = q < 0 ? n : q + 1;
          if (q < 0) continue;
          inString = false;
          if (stringStart >= 0 && base + q - stringStart >= LONG_STRING)
            longStrings.push({ start: stringStart - entryStart, end: base + q - entryStart, escaped: stringEscaped });
          if (keyParts) {
            keys[keys.length - 1] = Buffer.concat(keyParts).toString("utf8");
            keyParts = null;
          }
          continue;
        }
        const c = chunk[i]!;
        const depth = kinds.length;
        if (inEntries && depth === 3 && !isSpace(c) && c !== COMMA && c !== OPEN_OBJECT && c !== CLOSE_ARRAY)
          fail(base + i, `entry #${index} is not an object`);
        switch (c) {
          case QUOTE:
            inString = true;
            stringStart = entryParts && !expectKey ? base + i + 1 : -1;
            stringEscaped = false;
            if (expectKey && depth <= 2) keyParts = [];
            expectKey = false;
            break;
          case OPEN_OBJECT:
          case OPEN_ARRAY:
            if (inEntries && depth === 3) {
              entryParts = [];
              longStrings = [];
              entryStart = base + i;
              copyFrom = i;
            }
            if (
              depth === 2 &&
              c === OPEN_ARRAY &&
              keys[1] === "entries" &&
              keys[0] === "log" &&
              kinds[1] === OPEN_OBJECT
            ) {
              // the skeleton keeps `[` and `]` of log.entries, nothing between them
              inEntries = true;
              skeleton.push(Buffer.from(chunk.subarray(copyFrom, i + 1)));
              copyFrom = i + 1;
            }
            kinds.push(c);
            keys.push(null);
            expectKey = c === OPEN_OBJECT;
            break;
          case CLOSE_OBJECT:
          case CLOSE_ARRAY:
            if (kinds.pop() !== (c === CLOSE_OBJECT ? OPEN_OBJECT : OPEN_ARRAY))
              fail(base + i, `unexpected ${String.fromCharCode(c)}`);
            keys.pop();
            if (entryParts && kinds.length === 3) {
              // an entry inside one chunk views it; one across chunks is its copied parts joined
              const bytes = entryParts.length
                ? Buffer.concat([...entryParts, chunk.subarray(copyFrom, i + 1)])
                : chunk.subarray(copyFrom, i + 1);
              copyFrom = i + 1;
              batch.push(new HarEntry(bytes, file, entryStart, index++, longStrings));
              entryParts = null;
            }
            if (inEntries && kinds.length === 2) {
              inEntries = false;
              copyFrom = i;
            }
            expectKey = false;
            break;
          case COMMA:
            expectKey = kinds[kinds.length - 1] === OPEN_OBJECT;
            break;
          case COLON:
            break;
        }
        i++;
      }
    } catch (e) {
      if (batch.length) yield batch; // every whole entry before the damage
      throw e;
    }
    const rest = chunk.subarray(copyFrom);
    // copies: no entry or skeleton part views a chunk, so chunks can be read into again
    if (entryParts) entryParts.push(Buffer.from(rest));
    else if (!inEntries) skeleton.push(Buffer.from(rest));
    base += n;
    if (batch.length) yield batch;
    release?.(chunk); // the batch's flows are made: nothing made from it views it
  }
  if (first) return; // an empty input
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.concat(skeleton).toString("utf8"));
  } catch (e) {
    fail(base, (e as Error).message);
  }
  const log = (doc as { log?: unknown } | null)?.log;
  if (typeof log !== "object" || log === null || Array.isArray(log)) fail(0, "no log object");
  if (!Array.isArray((log as { entries?: unknown }).entries)) fail(0, "log.entries is not a list");
}
