/**
 * A flow file appended to must end on a whole flow. A writer killed mid-flow (a SIGKILLed
 * `-a` run or capture) leaves a cut-off flow at the end; flows appended after it would sit
 * inside it, where no reader finds them: the append is refused before anything is written.
 */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { OutputError } from "../errors.js";
import type { FlowFormat } from "../format/flow-formats.js";

/** Longest length prefix read: 12 digits and the colon (a flow file's flows are far shorter). */
const PREFIX_BYTES = 13;

/**
 * Throws OutputError when the existing regular file `path`, about to get flows of `format`
 * appended, does not end where a whole flow ends, naming the byte offset and number of the
 * cut-off flow. Reads only the length prefixes (mitm, msgpack) or the lines' ends (JSON Lines).
 */
export function checkAppendTarget(path: string, format: FlowFormat): void {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return; // not readable here: the append itself says why it fails
  }
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return;
    const cut =
      format === "mitm" ? cutMitmFlow(fd, size) : format === "msgpack" ? cutMsgpackRecord(fd, size) : format === "jsonl" ? cutLine(fd, size) : null;
    if (cut)
      throw new OutputError(
        path,
        `cannot append: it ends in a cut-off flow (byte offset ${cut.offset}, flow #${cut.index}), and flows written after it could not be read back; ` +
          `\`reflow convert\` it onto itself first to keep its whole flows`,
      );
  } finally {
    closeSync(fd);
  }
}

interface CutFlow {
  offset: number;
  index: number;
}

/** Where tnetstring frames stop chaining to the end of the file, or null when they reach it exactly. */
function cutMitmFlow(fd: number, size: number): CutFlow | null {
  const prefix = Buffer.alloc(PREFIX_BYTES);
  let at = 0;
  let index = 0;
  while (at < size) {
    const n = readSync(fd, prefix, 0, PREFIX_BYTES, at);
    const colon = prefix.subarray(0, n).indexOf(0x3a);
    const digits = colon > 0 ? prefix.toString("latin1", 0, colon) : "";
    if (!/^[0-9]+$/.test(digits)) return { offset: at, index };
    const end = at + colon + 1 + Number(digits) + 1; // the data, then its type tag
    if (end > size) return { offset: at, index };
    at = end;
    index++;
  }
  return null;
}

/** Where the records after the header line stop chaining to the end of the file. */
function cutMsgpackRecord(fd: number, size: number): CutFlow | null {
  const head = Buffer.alloc(64);
  const n = readSync(fd, head, 0, head.length, 0);
  const lineEnd = head.subarray(0, n).indexOf(0x0a);
  if (lineEnd < 0) return { offset: 0, index: 0 }; // FlowWriter refuses a file with no header already
  const length = Buffer.alloc(4);
  let at = lineEnd + 1;
  let index = 0;
  while (at < size) {
    if (at + 4 > size || readSync(fd, length, 0, 4, at) < 4) return { offset: at, index };
    const end = at + 4 + length.readUInt32BE(0);
    if (end > size) return { offset: at, index };
    at = end;
    index++;
  }
  return null;
}

/** The last line's start and number when the file does not end with a newline (the lines are counted only then). */
function cutLine(fd: number, size: number): CutFlow | null {
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  if (last[0] === 0x0a) return null;
  const chunk = Buffer.alloc(1 << 16);
  let lines = 0;
  let lastStart = 0;
  for (let at = 0; at < size; ) {
    const n = readSync(fd, chunk, 0, chunk.length, at);
    if (n === 0) break;
    for (let i = chunk.indexOf(0x0a); i !== -1 && i < n; i = chunk.indexOf(0x0a, i + 1)) {
      lines++;
      lastStart = at + i + 1;
    }
    at += n;
  }
  return { offset: lastStart, index: lines };
}
