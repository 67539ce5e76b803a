/**
 * Header lists of reflow msgpack edited as bytes: `[[name, value], …]` of bins, one name's
 * values set without decoding the other pairs (the msgpack side of tnetstring's setBytePairs).
 */
import { EXT_CONTAINER, FRAME_HEADER, isFrame } from "./msgpack-values.js";

/** The size of a bin of `n` bytes, header included, as MsgpackBuilder writes it. */
function binSize(n: number): number {
  return (n < 0x100 ? 2 : n < 0x10000 ? 3 : 5) + n;
}

/** The size of a list header for `n` items, as MsgpackBuilder writes it. */
function listHeaderSize(n: number): number {
  return n < 16 ? 1 : n < 0x10000 ? 3 : 5;
}

let binStart = 0;
let binEnd = 0;

/**
 * Reads the bin at `pos` into binStart and binEnd; false when it is none, overruns `limit`,
 * or has a longer header than MsgpackBuilder writes for its length (it would not be copied as written).
 */
function canonicalBinAt(b: Buffer, pos: number, limit: number): boolean {
  const c = b[pos];
  let n: number;
  if (c === 0xc4 && pos + 2 <= limit) ((n = b[pos + 1]!), (binStart = pos + 2));
  else if (c === 0xc5 && pos + 3 <= limit && (n = b.readUInt16BE(pos + 1)) >= 0x100) binStart = pos + 3;
  else if (c === 0xc6 && pos + 5 <= limit && (n = b.readUInt32BE(pos + 1)) >= 0x10000) binStart = pos + 5;
  else return false;
  binEnd = binStart + n;
  return binEnd <= limit;
}

/**
 * Writes the header of a list (`fix` 0x90) or bin (`m8` 0xc4) of `n` as MsgpackBuilder does:
 * `fix | n` below 16, `m8 n` below 256, else the 16- or 32-bit form. Returns where it ends.
 */
function writeHeader(out: Buffer, at: number, n: number, fix: number, m8: number, m16: number, m32: number): number {
  if (fix >= 0 && n < 16) {
    out[at] = fix | n;
    return at + 1;
  }
  if (m8 >= 0 && n < 0x100) {
    out[at] = m8;
    out[at + 1] = n;
    return at + 2;
  }
  if (n < 0x10000) {
    out[at] = m16;
    out.writeUInt16BE(n, at + 1);
    return at + 3;
  }
  out[at] = m32;
  out.writeUInt32BE(n, at + 1);
  return at + 5;
}

/** Writes a bin of `bytes` at `at`; returns where it ends. */
function writeBin(out: Buffer, at: number, bytes: Buffer): number {
  at = writeHeader(out, at, bytes.length, -1, 0xc4, 0xc5, 0xc6);
  return at + bytes.copy(out, at);
}

/**
 * The list of bin pairs at `b[from, end)` (framed when `framed`) with the values of one name
 * set as mitmproxy's `set_all` sets them: the pairs whose name `matches` take `values` in
 * turn (keeping their name), the surplus ones are dropped, the surplus values are appended as
 * pairs named `name`. The bytes are those MsgpackBuilder writes for the decoded list so
 * changed, at the same depth. Null when the list is not plain pairs of bins written as
 * MsgpackBuilder writes them: the caller then decodes it.
 */
export function setPackedPairs(
  b: Buffer,
  from: number,
  end: number,
  framed: boolean,
  matches: (buf: Buffer, nameStart: number, nameEnd: number) => boolean,
  name: Buffer,
  values: readonly Buffer[],
): Buffer | null {
  let pos = from;
  if (framed) {
    if (end - pos < FRAME_HEADER || !isFrame(b, pos) || b.readUInt32BE(pos + 1) !== end - pos - FRAME_HEADER) return null;
    pos += FRAME_HEADER;
  } else if (isFrame(b, pos)) return null;
  const c = b[pos];
  let count: number;
  if (c !== undefined && (c & 0xf0) === 0x90) ((count = c & 0x0f), (pos += 1));
  else if (c === 0xdc && pos + 3 <= end && (count = b.readUInt16BE(pos + 1)) >= 16) pos += 3;
  else if (c === 0xdd && pos + 5 <= end && (count = b.readUInt32BE(pos + 1)) >= 0x10000) pos += 5;
  else return null;
  /** in order: stretches of the list kept ([start, end)) and the pairs put in ([name, value]) */
  const parts: ([number, number] | [Buffer, Buffer])[] = [];
  let size = 0;
  let items = count;
  let used = 0;
  let keptFrom = pos;
  for (let n = 0; n < count; n++) {
    if (b[pos] !== 0x92 || !canonicalBinAt(b, pos + 1, end)) return null;
    const nameStart = binStart;
    const nameEnd = binEnd;
    if (!canonicalBinAt(b, nameEnd, end)) return null;
    const next = binEnd;
    if (matches(b, nameStart, nameEnd)) {
      if (keptFrom < pos) parts.push([keptFrom, pos]);
      size += pos - keptFrom;
      keptFrom = next;
      items--;
      if (used < values.length) {
        const pair: [Buffer, Buffer] = [b.subarray(nameStart, nameEnd), values[used++]!];
        parts.push(pair);
        size += 1 + binSize(pair[0].length) + binSize(pair[1].length);
        items++;
      }
    }
    pos = next;
  }
  if (pos !== end) return null;
  if (keptFrom < end) parts.push([keptFrom, end]);
  size += end - keptFrom;
  for (; used < values.length; used++) {
    parts.push([name, values[used]!]);
    size += 1 + binSize(name.length) + binSize(values[used]!.length);
    items++;
  }
  size += listHeaderSize(items);
  const out = Buffer.allocUnsafe((framed ? FRAME_HEADER : 0) + size);
  let at = 0;
  if (framed) {
    out[0] = 0xc9;
    out.writeUInt32BE(size, 1);
    out[5] = EXT_CONTAINER;
    at = FRAME_HEADER;
  }
  at = writeHeader(out, at, items, 0x90, -1, 0xdc, 0xdd);
  for (const [x, y] of parts) {
    if (typeof x === "number") at += b.copy(out, at, x, y as number);
    else {
      out[at++] = 0x92;
      at = writeBin(out, writeBin(out, at, x), y as Buffer);
    }
  }
  return out;
}
