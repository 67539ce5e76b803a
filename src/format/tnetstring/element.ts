/**
 * Where elements lie: a tnetstring element is `LENGTH:PAYLOAD` and a one-byte type tag.
 * Reads lengths and tags only; what the payload means is the decoder's business.
 */
import { TnetstringError } from "./tnetstring-error.js";

/** The `:` after a length prefix. */
export const COLON = 0x3a;

/** The type tags (mitmproxy adds `;` for text). */
export const TAG_BYTES = 0x2c; // ,
export const TAG_STR = 0x3b; // ;
export const TAG_INT = 0x23; // #
export const TAG_FLOAT = 0x5e; // ^
export const TAG_BOOL = 0x21; // !
export const TAG_NULL = 0x7e; // ~
export const TAG_LIST = 0x5d; // ]
export const TAG_DICT = 0x7d; // }

/** Where one element sits in a buffer. */
export interface ElementSpan {
  tag: number;
  /** first payload byte */
  start: number;
  /** one past the last payload byte (the tag's position) */
  end: number;
  /** one past the tag: where the next element begins */
  next: number;
}

/**
 * Locates the element starting at `pos` without parsing its payload.
 * `limit` is the exclusive end of the region the whole element (tag included) must fit in.
 */
export function spanAt(buf: Buffer, pos: number, limit: number): ElementSpan {
  const end = payloadEnd(buf, pos, limit);
  return { tag: buf[end]!, start: payloadStart, end, next: end + 1 };
}

/** Set by payloadEnd: where the payload it measured starts. (A register: no object per element.) */
export let payloadStart = 0;

/**
 * Reads the length prefix of the element at `pos` and returns where its payload ends (the
 * tag's position), checking that the element fits before `limit`.
 */
export function payloadEnd(buf: Buffer, pos: number, limit: number): number {
  let len = 0;
  let i = pos;
  for (; i < limit; i++) {
    const c = buf[i]!;
    if (c === COLON) break;
    if (c < 0x30 || c > 0x39) throw new TnetstringError("not a tnetstring: invalid length prefix", i);
    len = len * 10 + (c - 0x30);
    if (i - pos >= 12) throw new TnetstringError("not a tnetstring: absurdly large length prefix", i);
  }
  if (i === pos || i >= limit) throw new TnetstringError("not a tnetstring: missing length prefix", pos);
  payloadStart = i + 1;
  const end = payloadStart + len;
  if (end >= limit) throw new TnetstringError(`not a tnetstring: length ${len} runs past the end`, pos);
  return end;
}
