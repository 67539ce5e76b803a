/**
 * Streams the entries out of a HAR file (`{"log": {..., "entries": [ {...}, ... ]}}`) one
 * at a time, whatever the file's size: a byte scanner follows the nesting (strings and
 * escapes included) and hands each entry's bytes to JSON.parse; everything else of the
 * document is kept (it is small) and parsed at the end, so a HAR broken anywhere is
 * reported, after every whole entry before the damage. No model here: see io/formats/.
 */
import { FlowReadError } from "../errors.js";

/** One entry of `log.entries`, parsed, with where it starts in the file and its number. */
export interface HarEntry {
  value: unknown;
  offset: number;
  index: number;
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
  let index = 0;
  let base = 0; // file offset of the chunk being scanned
  let first = true;
  const skeleton: Buffer[] = []; // the document outside log.entries' items, to be checked at the end
  let inEntries = false;

  const fail = (at: number, detail: string): never => {
    throw new FlowReadError("E_FLOW_CORRUPT", file, at, index, `not a valid HAR file: ${detail}`);
  };
  const parseEntry = (text: string): HarEntry => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      fail(entryStart, `entry #${index}: ${(e as Error).message}`);
    }
    return { value, offset: entryStart, index: index++ };
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
            continue;
          }
          const end = q < 0 ? n : q;
          if (keyParts) keyParts.push(chunk.subarray(i, end));
          i = q < 0 ? n : q + 1;
          if (q < 0) continue;
          inString = false;
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
            if (expectKey && depth <= 2) keyParts = [];
            expectKey = false;
            break;
          case OPEN_OBJECT:
          case OPEN_ARRAY:
            if (inEntries && depth === 3) {
              entryParts = [];
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
              // an entry inside one chunk is decoded from it; one across chunks from its copied parts
              const text = entryParts.length
                ? Buffer.concat([...entryParts, chunk.subarray(copyFrom, i + 1)]).toString("utf8")
                : chunk.toString("utf8", copyFrom, i + 1);
              copyFrom = i + 1;
              batch.push(parseEntry(text));
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
    release?.(chunk); // nothing made from it views it
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
