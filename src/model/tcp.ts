/**
 * Messages of TCP and UDP flows (mitmproxy's `tcp.TCPMessage` / `udp.UDPMessage`), over
 * their `[from_client, content, timestamp]` entries. For TCP these are socket reads whose
 * boundaries mean nothing; for UDP they are datagrams.
 */
import type { TValue } from "../format/tnetstring.js";
import { FlowMessage } from "./flow-message.js";

/** One TCP chunk or UDP datagram. */
export class TCPMessage extends FlowMessage {
  /** @param entry the message's list in the flow state (live) */
  constructor(entry: TValue[]) {
    super(entry, 0);
  }
}

/** A UDP datagram: the same shape as a TCP message. */
export type UDPMessage = TCPMessage;
