/**
 * WebSocket data of an HTTP flow (mitmproxy's `websocket.WebSocketData` and
 * `WebSocketMessage`), over the `websocket` dict of the flow state.
 */
import { FlowStateError } from "../errors.js";
import type { TDict, TValue } from "../format/tnetstring.js";
import { listEntry, strOrNull, toFloatValue, toNumber } from "./values.js";
import { FlowMessage } from "./flow-message.js";

/** WebSocket opcodes that messages are recorded with (RFC 6455 §5.2). */
export const WebSocketOpcode = { TEXT: 1, BINARY: 2 } as const;

const utf8Strict = new TextDecoder("utf-8", { fatal: true });

/** One complete (reassembled) WebSocket message, over its `[type, from_client, content, timestamp, dropped, injected]` entry. */
export class WebSocketMessage extends FlowMessage {
  /** @param entry the message's list in the flow state (live) */
  constructor(entry: TValue[]) {
    super(entry, 1);
  }

  /** The opcode: 1 text, 2 binary. */
  get type(): number {
    return toNumber(this.entry[0]) ?? 0;
  }

  set type(t: number) {
    this.entry[0] = t;
  }

  /** True when the message is text. */
  get isText(): boolean {
    return this.type === WebSocketOpcode.TEXT;
  }

  /** The payload of a text message as a string; throws for binary messages (as mitmproxy). */
  get text(): string {
    if (!this.isText) throw new TypeError("Binary WebSocket frames do not have a 'text' attribute.");
    return utf8Strict.decode(this.content);
  }

  set text(v: string) {
    if (!this.isText) throw new TypeError("Binary WebSocket frames do not have a 'text' attribute.");
    this.content = Buffer.from(v, "utf8");
  }

  /** True when mitmproxy did not forward it. */
  get dropped(): boolean {
    return this.entry[4] === true;
  }

  set dropped(v: boolean) {
    this.entry[4] = v;
  }

  /** True when it was injected rather than sent by a peer (false for 5-element entries). */
  get injected(): boolean {
    return this.entry[5] === true;
  }

  set injected(v: boolean) {
    while (this.entry.length < 5) this.entry.push(false);
    this.entry[5] = v;
  }
}

/** Everything recorded about a flow's WebSocket connection. */
export class WebSocketData {
  /** @param state the flow's `websocket` dict (live) */
  constructor(readonly state: TDict) {}

  /** The messages in order; each one reads and writes its entry in the state. */
  get messages(): WebSocketMessage[] {
    return listEntry(this.state, "messages", "websocket").map((m) => {
      if (!Array.isArray(m)) throw new FlowStateError("E_FLOW_SCHEMA", "websocket: malformed message entry");
      return new WebSocketMessage(m);
    });
  }

  /** True if the client closed the connection, false if the server did, null if unknown. */
  get closedByClient(): boolean | null {
    const v = this.state.get("closed_by_client");
    return typeof v === "boolean" ? v : null;
  }

  set closedByClient(v: boolean | null) {
    this.state.set("closed_by_client", v);
  }

  /** The close code (RFC 6455 §7.1.5), or null. */
  get closeCode(): number | null {
    return toNumber(this.state.get("close_code"));
  }

  set closeCode(v: number | null) {
    this.state.set("close_code", v);
  }

  /** The close reason, or null. */
  get closeReason(): string | null {
    return strOrNull(this.state.get("close_reason"));
  }

  set closeReason(v: string | null) {
    this.state.set("close_reason", v);
  }

  /** When the WebSocket closed (Unix seconds), or null. */
  get timestampEnd(): number | null {
    return toNumber(this.state.get("timestamp_end"));
  }

  set timestampEnd(t: number | null) {
    this.state.set("timestamp_end", t === null ? null : toFloatValue(t));
  }
}
