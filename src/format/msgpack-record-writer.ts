/**
 * Version-2 records of reflow msgpack. A flow read from a version-2 record is written back
 * from what was read: the entries that did not change are copied as bytes (in runs), only
 * the changed ones are encoded again, and the frames around them get their new lengths.
 */
import { KEPT, PackedDict } from "./packed-dict.js";
import { MsgpackBuilder } from "./msgpack-values.js";
import type { TDict } from "./tnetstring.js";

const LENGTH_BYTES = 4;
const MAX_RECORD = 0xffffffff;

/**
 * Encodes flow dicts as version-2 records into a buffer of its own, reused from record to
 * record. A dict read from a version-2 record (a PackedDict) has its unchanged entries
 * copied as they were read; anything else is encoded whole.
 */
export class MsgpackRecordWriter {
  private readonly out = new MsgpackBuilder();

  /** The record of `top` (length prefix included): a view valid until the next call. */
  encode(top: TDict): Buffer {
    const out = this.out;
    out.start();
    out.reserve(LENGTH_BYTES);
    out.at = LENGTH_BYTES;
    if (top instanceof PackedDict && top.version >= 2) this.map(top, 0);
    else out.value(top, 0);
    const length = out.at - LENGTH_BYTES;
    if (length > MAX_RECORD) throw new RangeError(`a flow of ${length} bytes is too large for a msgpack record`);
    out.buf.writeUInt32BE(length, 0);
    return out.buf.subarray(0, out.at);
  }

  /** Writes `dict` (read from a version-2 record) at `depth`: unchanged entries from its source. */
  private map(dict: PackedDict, depth: number): void {
    const out = this.out;
    const stored = dict.stored();
    if (stored === null) return out.container(dict, depth); // filled: a Map like any other
    const { payload, at, count, added } = stored;
    out.mapHeader(count + added.size);
    // unchanged entries stand side by side in the payload: each run of them is one copy
    let from = at[0]!;
    for (let i = 0; i < count; i++) {
      const state = stored.state(i);
      if (state === KEPT) continue;
      const keyEnd = at[2 * i + 1]!;
      out.bytes(payload, from, keyEnd); // the run before, and this entry's key
      from = at[2 * i + 2]!;
      if (state instanceof PackedDict) {
        // a dict one level down that changed: its unchanged entries are copied in turn
        const frame = out.openFrame();
        this.map(state, depth + 1);
        out.closeFrame(frame);
      } else out.value(state.value, depth + 1);
    }
    out.bytes(payload, from, at[2 * count]!);
    for (const [k, v] of added) {
      out.value(k, depth + 1);
      out.value(v, depth + 1);
    }
  }
}
