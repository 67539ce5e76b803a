/** Bytes as a classic hex dump: offset, 16 bytes in hex, and the printable ASCII beside them. */

/** One line per 16 bytes: `00000000  89 50 4e 47 0d 0a 1a 0a  00 00 00 0d 49 48 44 52  |.PNG........IHDR|`. */
export function* hexDumpLines(bytes: Uint8Array, maxLines = Infinity): Generator<string> {
  for (let off = 0, n = 0; off < bytes.length && n < maxLines; off += 16, n++) {
    const row = bytes.subarray(off, Math.min(off + 16, bytes.length));
    let hex = "";
    let ascii = "";
    for (let i = 0; i < 16; i++) {
      if (i === 8) hex += " ";
      const b = row[i];
      hex += b === undefined ? "   " : ` ${b.toString(16).padStart(2, "0")}`;
      if (b !== undefined) ascii += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
    }
    yield `${off.toString(16).padStart(8, "0")} ${hex}  |${ascii}|`;
  }
}

/** How many lines `hexDumpLines` gives for `size` bytes. */
export const hexDumpLineCount = (size: number): number => Math.ceil(size / 16);
