/**
 * reflow's msgpack flow files: the line `REFLOW-MSGPACK 1\n`, then one record per flow, a
 * 4-byte big-endian length and a msgpack map holding the flow's version-21 state. Every
 * state value keeps its kind: str as msgpack str, bytes as bin, ints as ints (beyond 64
 * bits as an extension), floats as float64 (integral Python floats and -0.0 as an
 * extension, so `1.0` stays a float), dicts as maps with their keys in order. So
 * mitm → msgpack → mitm is byte-identical. Appending adds records, never a second header.
 */
import { Packr, Unpackr, addExtension } from "msgpackr";
import { FlowReadError } from "../errors.js";
import { MSGPACK_MAGIC, MSGPACK_MAGIC_PREFIX } from "./flow-formats.js";
import { PyFloat, RawElement, type TDict, type TValue, resolveDeep } from "./tnetstring.js";

/** A Python int too large for msgpack's 64 bits, kept as its decimal digits. */
class LargeInt {
  constructor(readonly digits: string) {}
}

const EXT_FLOAT = 0x46; // "F": an integral Python float (or -0.0), as float64
const EXT_LARGE_INT = 0x49; // "I": an int beyond 64 bits, as decimal digits

addExtension({
  Class: PyFloat,
  type: EXT_FLOAT,
  pack(v: PyFloat) {
    const b = Buffer.allocUnsafe(8);
    b.writeDoubleBE(v.value, 0);
    return b;
  },
  unpack(b: Uint8Array) {
    return new PyFloat(Buffer.from(b.buffer, b.byteOffset, b.byteLength).readDoubleBE(0));
  },
});
addExtension({
  Class: LargeInt,
  type: EXT_LARGE_INT,
  pack: (v: LargeInt) => Buffer.from(v.digits, "latin1"),
  unpack: (b: Uint8Array) => BigInt(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1")),
});

const packr = new Packr({ useRecords: false, mapsAsObjects: false, moreTypes: false, variableMapSize: true });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: false, int64AsType: "bigint" });

const LENGTH_BYTES = 4;
const MAX_RECORD = 0xffffffff;

/**
 * A state value as msgpackr is to write it: unparsed parts parsed, ints beyond 64 bits and
 * -0.0 (which msgpackr would write as the int 0) boxed. Containers are copied only when
 * something inside them changed.
 */
function packable(v: TValue): unknown {
  if (v instanceof RawElement) return packable(resolveDeep(v));
  switch (typeof v) {
    case "number":
      return Object.is(v, -0) ? new PyFloat(-0) : v;
    case "bigint":
      return v >= -(1n << 63n) && v < 1n << 64n ? v : new LargeInt(v.toString());
    case "object":
      break;
    default:
      return v;
  }
  if (v === null || v instanceof PyFloat || v instanceof Uint8Array) return v;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const p = packable(v[i]!);
      if (p !== v[i]) (out ??= v.slice())[i] = p;
    }
    return out ?? v;
  }
  // a Map (a plain one, or an IndexedDict read from a mitm file: always copied, msgpackr wants plain Maps)
  const out = new Map<unknown, unknown>();
  for (const [k, value] of v) out.set(k, packable(value));
  return out;
}

/** One flow's record: the length prefix and the msgpack of its version-21 top-level dict. */
export function encodeMsgpackRecord(top: TDict): Buffer {
  const body = packr.pack(packable(top));
  if (body.length > MAX_RECORD) throw new RangeError(`a flow of ${body.length} bytes is too large for a msgpack record`);
  const out = Buffer.allocUnsafe(LENGTH_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, LENGTH_BYTES);
  return out;
}

/** A record (length prefix included) around msgpack bytes already made. */
export function msgpackRecordOf(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(LENGTH_BYTES + payload.length);
  out.writeUInt32BE(payload.length, 0);
  payload.copy(out, LENGTH_BYTES);
  return out;
}

/** A record's msgpack (without its prefix) as a version-21 flow dict; bytes stay views into `payload`. */
export function decodeMsgpackState(payload: Buffer): TDict {
  const v = unpackr.unpack(payload) as unknown;
  if (!(v instanceof Map)) throw new TypeError("a msgpack record that is not a map");
  return v as TDict;
}

/** One record as it stands in the file: its msgpack (without the prefix), where it starts, its number. */
export interface MsgpackRecord {
  payload: Buffer;
  offset: number;
  index: number;
}

/**
 * Splits a msgpack flow file into records, in batches (those whole in what has been read),
 * after checking its header. Damage throws FlowReadError after every whole record before it.
 */
export async function* frameMsgpackRecords(
  chunks: AsyncIterable<Buffer>,
  file: string,
): AsyncGenerator<MsgpackRecord[]> {
  let buf = Buffer.alloc(0); // unconsumed bytes, starting at file offset `base`
  let base = 0;
  let index = 0;
  const pending: Buffer[] = []; // chunks read while a record is incomplete
  let pendingBytes = 0;
  let headerDone = false;
  const fail = (code: "E_FLOW_TRUNCATED" | "E_FLOW_CORRUPT" | "E_FLOW_VERSION", at: number, detail: string): never => {
    throw new FlowReadError(code, file, at, index, detail);
  };
  /** The bytes still needed before the next record (or the header) is whole, 0 when it is. */
  const missing = (): number => {
    const have = buf.length + pendingBytes;
    if (!headerDone) return Math.max(0, MSGPACK_MAGIC.length - have);
    if (have < LENGTH_BYTES) return LENGTH_BYTES - have;
    const head = buf.length >= LENGTH_BYTES ? buf : Buffer.concat([buf, ...pending]);
    return Math.max(0, LENGTH_BYTES + head.readUInt32BE(0) - have);
  };
  const join = (): void => {
    if (pending.length) buf = Buffer.concat([buf, ...pending.splice(0)]);
    pendingBytes = 0;
  };
  for await (const chunk of chunks) {
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (missing() > 0) continue;
    join();
    if (!headerDone) {
      const head = buf.subarray(0, MSGPACK_MAGIC.length);
      if (!head.equals(MSGPACK_MAGIC)) {
        const line = buf.subarray(MSGPACK_MAGIC_PREFIX.length, buf.indexOf(0x0a)).toString("latin1");
        fail("E_FLOW_VERSION", 0, `reflow msgpack version ${JSON.stringify(line)} is not one this reflow reads (1)`);
      }
      buf = buf.subarray(MSGPACK_MAGIC.length);
      base = MSGPACK_MAGIC.length;
      headerDone = true;
    }
    const batch: MsgpackRecord[] = [];
    while (buf.length >= LENGTH_BYTES) {
      const len = buf.readUInt32BE(0);
      if (buf.length < LENGTH_BYTES + len) break;
      batch.push({ payload: buf.subarray(LENGTH_BYTES, LENGTH_BYTES + len), offset: base, index: index++ });
      buf = buf.subarray(LENGTH_BYTES + len);
      base += LENGTH_BYTES + len;
    }
    if (batch.length) yield batch;
  }
  join();
  if (!headerDone) {
    if (buf.length === 0) return;
    fail("E_FLOW_TRUNCATED", 0, "file ends inside the reflow msgpack header");
  }
  if (buf.length >= LENGTH_BYTES)
    fail("E_FLOW_TRUNCATED", base, `flow of ${buf.readUInt32BE(0)} bytes is cut off by the end of the input`);
  if (buf.length > 0) fail("E_FLOW_TRUNCATED", base, "file ends inside a record's length prefix");
}
