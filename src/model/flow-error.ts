/**
 * The error recorded on a flow (mitmproxy's `flow.Error`): a connection or protocol failure
 * outside normal HTTP, such as a refused connection or a killed flow. Not an exception.
 */
import { ERROR, inKeyOrder } from "../format/migrations/key-orders.js";
import type { TDict } from "../format/tnetstring.js";
import { strOf, toFloatValue, toNumber } from "./values.js";

/** What can be assigned to `flow.error`. */
export interface FlowErrorInit {
  msg: string;
  /** Unix seconds; now when left out */
  timestamp?: number;
}

/** A flow's error, over its `{msg, timestamp}` dict in the flow state (live). */
export class FlowError {
  /** The message mitmproxy records on killed flows. */
  static readonly KILLED_MESSAGE = "Connection killed.";

  constructor(readonly state: TDict) {}

  /** A new error dict as the schema stores it: `msg` str, `timestamp` float. */
  static stateOf(init: FlowErrorInit): TDict {
    if (typeof init.msg !== "string") throw new TypeError("flow error msg must be a string");
    return inKeyOrder(ERROR, { msg: init.msg, timestamp: toFloatValue(init.timestamp ?? Date.now() / 1000) });
  }

  /** What went wrong. */
  get msg(): string {
    return strOf(this.state.get("msg"));
  }

  set msg(v: string) {
    this.state.set("msg", v);
  }

  /** When it happened (Unix seconds). */
  get timestamp(): number {
    return toNumber(this.state.get("timestamp")) ?? 0;
  }

  set timestamp(t: number) {
    this.state.set("timestamp", toFloatValue(t));
  }

  toString(): string {
    return this.msg;
  }

  toJSON(): { msg: string; timestamp: number } {
    return { msg: this.msg, timestamp: this.timestamp };
  }
}
