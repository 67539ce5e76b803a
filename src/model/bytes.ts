/** Bytes as the flow state keeps them. */

/** A Buffer over the same memory as `v` (no copy): the state holds Buffers, callers may pass any Uint8Array. */
export function asBuffer(v: Uint8Array): Buffer {
  return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}
