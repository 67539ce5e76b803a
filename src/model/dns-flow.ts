/**
 * A DNS flow (mitmproxy's `dns.DNSFlow`): a query and maybe a response.
 */
import { FlowStateError } from "../errors.js";
import { DNSMessage } from "./dns.js";
import { Flow, type FlowType, wrapDict } from "./flow.js";

/** One DNS query and its response. */
export class DNSFlow extends Flow {
  get type(): FlowType {
    return "dns";
  }

  /** The query. */
  get request(): DNSMessage {
    const r = this.dictAt("request");
    if (!r) throw new FlowStateError("E_FLOW_SCHEMA", "DNS flow without a request");
    return wrapDict(r, DNSMessage);
  }

  /** The response, or null. */
  get response(): DNSMessage | null {
    const r = this.dictAt("response");
    return r ? wrapDict(r, DNSMessage) : null;
  }
}
