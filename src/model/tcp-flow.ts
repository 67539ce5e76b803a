/**
 * Raw TCP and UDP flows (mitmproxy's `tcp.TCPFlow` and `udp.UDPFlow`): a list of messages.
 */
import { FlowStateError } from "../errors.js";
import type { TValue } from "../format/tnetstring.js";
import { Flow, type FlowType } from "./flow.js";
import { TCPMessage, type UDPMessage } from "./tcp.js";

function messagesOf(list: TValue[]): TCPMessage[] {
  return list.map((m) => {
    if (!Array.isArray(m)) throw new FlowStateError("E_FLOW_SCHEMA", "malformed message entry in a TCP/UDP flow");
    return new TCPMessage(m);
  });
}

/** A TCP connection relayed as raw bytes. */
export class TCPFlow extends Flow {
  get type(): FlowType {
    return "tcp";
  }

  /** The chunks in order; each reads and writes its entry in the state. */
  get messages(): TCPMessage[] {
    return messagesOf(this.listAt("messages"));
  }
}

/** UDP datagrams between one client and one server. */
export class UDPFlow extends Flow {
  get type(): FlowType {
    return "udp";
  }

  /** The datagrams in order; each reads and writes its entry in the state. */
  get messages(): UDPMessage[] {
    return messagesOf(this.listAt("messages"));
  }
}
