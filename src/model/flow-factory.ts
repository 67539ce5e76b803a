/**
 * Choosing the flow class for a flow state by its `type`.
 */
import { FlowStateError } from "../errors.js";
import type { FlowState } from "../format/flow-record.js";
import { DNSFlow } from "./dns-flow.js";
import type { Flow } from "./flow.js";
import { HTTPFlow } from "./http-flow.js";
import { strOf } from "./values.js";
import { TCPFlow, UDPFlow } from "./tcp-flow.js";

const CLASSES = { http: HTTPFlow, tcp: TCPFlow, udp: UDPFlow, dns: DNSFlow } as const;

/**
 * The flow object for a state. A FlowRecord knows its type from the bytes without parsing
 * the flow, so making the object costs nothing until a property is read; old files whose
 * type changes in migration (pre-v12 `websocket` flows) are looked up in the migrated state.
 */
export function flowFromState(state: FlowState): Flow {
  const peeked = (state as { type?: unknown }).type;
  const type = typeof peeked === "string" && Object.hasOwn(CLASSES, peeked) ? peeked : strOf(state.top().get("type"));
  const cls = (CLASSES as Record<string, new (s: FlowState) => Flow>)[type];
  if (!cls || !Object.hasOwn(CLASSES, type)) throw new FlowStateError("E_FLOW_SCHEMA", `Unknown flow type: ${type}`);
  return new cls(state);
}
