/**
 * What the messages of TCP, UDP and WebSocket flows share: who sent them, the payload and
 * when, side by side in the message's list in the flow state.
 */
import type { TValue } from "../format/tnetstring.js";
import { asBuffer } from "./bytes.js";
import { bytesOf, toFloatValue, toNumber } from "./values.js";

/** A message over its list: `from_client`, `content` and `timestamp` stand from position `at` on. */
export abstract class FlowMessage {
  /**
   * @param entry the message's list in the flow state (live)
   * @param at where `from_client` stands: 0 in TCP and UDP entries, 1 in WebSocket ones (after the type)
   */
  protected constructor(
    readonly entry: TValue[],
    private readonly at: number,
  ) {}

  /** True when the client sent it. */
  get fromClient(): boolean {
    return this.entry[this.at] === true;
  }

  set fromClient(v: boolean) {
    this.entry[this.at] = v;
  }

  /** The payload bytes. */
  get content(): Buffer {
    return bytesOf(this.entry[this.at + 1]);
  }

  set content(v: Uint8Array) {
    this.entry[this.at + 1] = asBuffer(v);
  }

  /** When it was received (Unix seconds). */
  get timestamp(): number {
    return toNumber(this.entry[this.at + 2]) ?? 0;
  }

  set timestamp(t: number) {
    this.entry[this.at + 2] = toFloatValue(t);
  }
}
