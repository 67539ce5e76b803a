/**
 * WebSocket framing (RFC 6455 §5.2): reading frames off a byte stream with their original
 * bytes (to pass them on untouched) and unmasked payloads (to record them), and writing
 * frames for messages a script changed.
 */
import { randomBytes } from "node:crypto";

/** Opcodes (RFC 6455 §5.2). */
export const Opcode = { CONTINUATION: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

/** One frame as read. */
export interface Frame {
  fin: boolean;
  /** RSV1..3 bits (non-zero only with extensions) */
  rsv: number;
  opcode: number;
  /** the payload, unmasked */
  payload: Buffer;
  /** the frame exactly as it arrived */
  raw: Buffer;
}

/** A frame that breaks the protocol (RFC 6455 §7.4.1 code 1002). */
export class FrameError extends Error {}

/** Largest frame accepted (a frame is buffered whole before it is passed on). */
const MAX_FRAME = 64 << 20;

/** Splits a byte stream into frames. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Adds bytes and returns the frames they complete. */
  push(chunk: Buffer): Frame[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: Frame[] = [];
    for (;;) {
      const f = this.next();
      if (!f) break;
      frames.push(f);
    }
    return frames;
  }

  private next(): Frame | null {
    const b = this.buf;
    if (b.length < 2) return null;
    const masked = (b[1]! & 0x80) !== 0;
    let len = b[1]! & 0x7f;
    let pos = 2;
    if (len === 126) {
      if (b.length < 4) return null;
      len = b.readUInt16BE(2);
      pos = 4;
    } else if (len === 127) {
      if (b.length < 10) return null;
      const big = b.readBigUInt64BE(2);
      if (big > BigInt(MAX_FRAME)) throw new FrameError(`frame of ${big} bytes is too large`);
      len = Number(big);
      pos = 10;
    }
    if (len > MAX_FRAME) throw new FrameError(`frame of ${len} bytes is too large`);
    const maskAt = pos;
    if (masked) pos += 4;
    if (b.length < pos + len) return null;
    const raw = b.subarray(0, pos + len);
    let payload = b.subarray(pos, pos + len);
    if (masked) {
      const copy = Buffer.allocUnsafe(len);
      for (let i = 0; i < len; i++) copy[i] = payload[i]! ^ b[maskAt + (i & 3)]!;
      payload = copy;
    }
    this.buf = b.subarray(pos + len);
    return { fin: (b[0]! & 0x80) !== 0, rsv: (b[0]! >> 4) & 0x07, opcode: b[0]! & 0x0f, payload, raw };
  }
}

/** A whole frame; clients must mask what they send (RFC 6455 §5.3), servers must not. */
export function encodeFrame(opcode: number, payload: Buffer, mask: boolean, fin = true): Buffer {
  const len = payload.length;
  const lenBytes = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const head = Buffer.alloc(2 + lenBytes + (mask ? 4 : 0));
  head[0] = (fin ? 0x80 : 0) | opcode;
  head[1] = (mask ? 0x80 : 0) | (lenBytes === 0 ? len : lenBytes === 2 ? 126 : 127);
  if (lenBytes === 2) head.writeUInt16BE(len, 2);
  else if (lenBytes === 8) head.writeBigUInt64BE(BigInt(len), 2);
  if (!mask) return Buffer.concat([head, payload]);
  const key = randomBytes(4);
  key.copy(head, 2 + lenBytes);
  const body = Buffer.allocUnsafe(len);
  for (let i = 0; i < len; i++) body[i] = payload[i]! ^ key[i & 3]!;
  return Buffer.concat([head, body]);
}

/** Reassembles messages from data frames (RFC 6455 §5.4 fragmentation). */
export class MessageAssembler {
  private opcode = -1;
  private parts: Buffer[] = [];

  /** Feeds a data frame; returns the message it completes, if any. */
  add(frame: Frame): { opcode: number; content: Buffer } | null {
    if (frame.opcode !== Opcode.CONTINUATION) {
      this.opcode = frame.opcode;
      this.parts = [];
    } else if (this.opcode < 0) throw new FrameError("continuation frame without a message to continue");
    this.parts.push(frame.payload);
    if (!frame.fin) return null;
    const message = { opcode: this.opcode, content: this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts) };
    this.opcode = -1;
    this.parts = [];
    return message;
  }
}

/** The close code and reason of a close frame's payload (RFC 6455 §5.5.1). */
export function parseClose(payload: Buffer): { code: number | null; reason: string | null } {
  if (payload.length < 2) return { code: null, reason: null };
  return { code: payload.readUInt16BE(0), reason: payload.toString("utf8", 2) };
}
