/**
 * Messages of TCP and UDP flows (mitmproxy's `tcp.TCPMessage` / `udp.UDPMessage`), over
 * their `[from_client, content, timestamp]` entries. For TCP these are socket reads whose
 * boundaries mean nothing; for UDP they are datagrams.
 */
import type { TValue } from "../format/tnetstring.js";
import { bytesOf, toFloatValue, toNumber } from "./values.js";

/** One TCP chunk or UDP datagram. */
export class TCPMessage {
  /** @param entry the message's list in the flow state (live) */
  constructor(readonly entry: TValue[]) {}

  /** True when the client sent it. */
  get fromClient(): boolean {
    return this.entry[0] === true;
  }

  set fromClient(v: boolean) {
    this.entry[0] = v;
  }

  /** The payload bytes. */
  get content(): Buffer {
    return bytesOf(this.entry[1]);
  }

  set content(v: Uint8Array) {
    this.entry[1] = Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  }

  /** When it was received (Unix seconds). */
  get timestamp(): number {
    return toNumber(this.entry[2]) ?? 0;
  }

  set timestamp(t: number) {
    this.entry[2] = toFloatValue(t);
  }
}

/** A UDP datagram: the same shape as a TCP message. */
export type UDPMessage = TCPMessage;
