/** The argument of `tcp_message` and `udp_message`, made the same way for saved and live flows. */
import type { TCPFlow } from "../model/index.js";

/** A TCP or UDP message as `tcp_message` sees it; `message` may be replaced. */
export interface TCPMessageEvent {
  flow: TCPFlow;
  fromClient: boolean;
  sender: unknown;
  receiver: unknown;
  message: Buffer;
}

/** The event for one message of `flow`, sent by the client when `fromClient`. */
export function tcpMessageEvent(flow: TCPFlow, fromClient: boolean, message: Buffer): TCPMessageEvent {
  return {
    flow,
    fromClient,
    sender: fromClient ? flow.clientConn : flow.serverConn,
    receiver: fromClient ? flow.serverConn : flow.clientConn,
    message,
  };
}

/** What a script left in `event.message`, as a Buffer (a script may put in any Uint8Array). */
export function messageAfter(event: TCPMessageEvent): Buffer {
  const m = event.message as Uint8Array;
  return Buffer.isBuffer(m) ? m : Buffer.from(m);
}
