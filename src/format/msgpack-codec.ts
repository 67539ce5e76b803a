/**
 * reflow's msgpack flow files: the line `REFLOW-MSGPACK 2\n` (or `1`), then one record per
 * flow, a 4-byte big-endian length and a msgpack map holding the flow's version-21 state.
 * Every state value keeps its kind: str as msgpack str, bytes as bin, ints as ints (beyond
 * 64 bits as an extension), floats as float64 (integral Python floats and -0.0 as an
 * extension, so `1.0` stays a float), dicts as maps with their keys in order. So
 * mitm → msgpack → mitm is byte-identical. Version 2 frames the containers of the top two
 * levels with their byte length (msgpack-values.ts), so that a reader finds an entry without
 * walking the ones before it, and a writer copies what did not change. Appending adds
 * records of the file's version, never a second header.
 */
import { createRequire } from "node:module";
import type { Packr } from "msgpackr";
import { FlowReadError } from "../errors.js";
import {
  MSGPACK_MAGIC,
  MSGPACK_MAGIC_PREFIX,
  MSGPACK_NEWEST,
  type MsgpackVersion,
  msgpackVersionOf,
} from "./flow-formats.js";
import type { RecordShape } from "./flow-framer.js";
import { type RawFlow, frameFlowBatches } from "./mitm-stream.js";
import { MsgpackRecordWriter } from "./msgpack-record-writer.js";
import { EXT_FLOAT, EXT_LARGE_INT, decodeValue } from "./msgpack-values.js";
import { PyFloat, RawElement, type TDict, type TValue, resolveDeep } from "./tnetstring.js";

export { PackedDict } from "./packed-dict.js";
export { MsgpackRecordWriter } from "./msgpack-record-writer.js";

/** A Python int too large for msgpack's 64 bits, kept as its decimal digits. */
class LargeInt {
  constructor(readonly digits: string) {}
}

let packr: Packr | null = null;

/**
 * msgpackr's packer, loaded on first use, for version-1 records only (appending to a
 * version-1 file): loading it costs ~20 ms of start-up that nothing else needs.
 */
function version1Packer(): Packr {
  if (packr) return packr;
  const { Packr, addExtension } = createRequire(import.meta.url)("msgpackr") as typeof import("msgpackr");
  addExtension({
    Class: PyFloat,
    type: EXT_FLOAT,
    pack(v: PyFloat) {
      const b = Buffer.allocUnsafe(8);
      b.writeDoubleBE(v.value, 0);
      return b;
    },
    unpack: (b: Uint8Array) => new PyFloat(Buffer.from(b.buffer, b.byteOffset, b.byteLength).readDoubleBE(0)),
  });
  addExtension({
    Class: LargeInt,
    type: EXT_LARGE_INT,
    pack: (v: LargeInt) => Buffer.from(v.digits, "latin1"),
    unpack: (b: Uint8Array) => BigInt(Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("latin1")),
  });
  packr = new Packr({ useRecords: false, mapsAsObjects: false, moreTypes: false, variableMapSize: true });
  return packr;
}

const LENGTH_BYTES = 4;
/** The length prefix of a record, before its msgpack. */
export const MSGPACK_LENGTH_BYTES = LENGTH_BYTES;
const MAX_RECORD = 0xffffffff;

/**
 * A state value as msgpackr is to write it (version 1): unparsed parts parsed, ints beyond
 * 64 bits and -0.0 (which msgpackr would write as the int 0) boxed. Containers are copied
 * only when something inside them changed.
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

let writer: MsgpackRecordWriter | null = null;

/** One flow's record (of `version`, default the newest): the length prefix and the msgpack of its version-21 top-level dict. */
export function encodeMsgpackRecord(top: TDict, version: MsgpackVersion = MSGPACK_NEWEST): Buffer {
  if (version >= 2) return Buffer.from((writer ??= new MsgpackRecordWriter()).encode(top));
  const body = version1Packer().pack(packable(top));
  if (body.length > MAX_RECORD)
    throw new RangeError(`a flow of ${body.length} bytes is too large for a msgpack record`);
  const out = Buffer.allocUnsafe(LENGTH_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  body.copy(out, LENGTH_BYTES);
  return out;
}

/** A record's msgpack (without its prefix, of any version) as a version-21 flow dict; bytes stay views into `payload`. */
export function decodeMsgpackState(payload: Buffer): TDict {
  const v = decodeValue(payload);
  if (!(v instanceof Map)) throw new TypeError("a msgpack record that is not a map");
  return v as TDict;
}

/** reflow msgpack records: a 4-byte big-endian length, then the msgpack map. */
export const MSGPACK_RECORDS: RecordShape = {
  prefixNeed: LENGTH_BYTES,
  suffix: 0,
  prefix(buf, at, _first, fail) {
    if (buf.length - at < LENGTH_BYTES) fail("E_FLOW_TRUNCATED", 0, "file ends inside a record's length prefix");
    return { prefix: LENGTH_BYTES, payload: buf.readUInt32BE(at) };
  },
  damage: () => null,
};

/**
 * Splits a msgpack flow file into records (length prefix included), in batches (those whole
 * in what has been read), after checking its header, whose version is put in `header`
 * before the first batch. Records view the chunks read, as mitm flows do (see
 * frameFlowBatches, which also says what `release` is for). Damage throws FlowReadError
 * after every whole record before it.
 */
export async function* frameMsgpackRecords(
  chunks: AsyncIterable<Buffer>,
  file: string,
  knownSize?: number,
  release?: (chunk: Buffer) => void,
  header: { version?: MsgpackVersion } = {},
): AsyncGenerator<RawFlow[]> {
  const it = chunks[Symbol.asyncIterator]();
  let head: Buffer = Buffer.alloc(0);
  while (head.length < MSGPACK_MAGIC.length) {
    const r = await it.next();
    if (r.done) break;
    head = head.length ? Buffer.concat([head, r.value]) : r.value;
  }
  if (head.length === 0) return;
  if (head.length < MSGPACK_MAGIC.length)
    throw new FlowReadError("E_FLOW_TRUNCATED", file, 0, 0, "file ends inside the reflow msgpack header");
  const version = msgpackVersionOf(head);
  if (version === null) {
    const line = head.subarray(MSGPACK_MAGIC_PREFIX.length, head.indexOf(0x0a)).toString("latin1");
    throw new FlowReadError(
      "E_FLOW_VERSION",
      file,
      0,
      0,
      `reflow msgpack version ${JSON.stringify(line)} is not one this reflow reads (1, 2)`,
    );
  }
  header.version = version;
  const rest = head.subarray(MSGPACK_MAGIC.length);
  async function* after(): AsyncGenerator<Buffer> {
    if (rest.length) yield rest;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  }
  try {
    const pool = release && { give: release };
    yield* frameFlowBatches(after(), file, knownSize, pool, MSGPACK_RECORDS, MSGPACK_MAGIC.length);
  } finally {
    await it.return?.();
  }
}
