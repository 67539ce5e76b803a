/**
 * DNS messages of DNS flows (mitmproxy's `dns.DNSMessage`), read-only views over their
 * dicts in the flow state (mitm-format.md §2.4).
 */
import { FlowStateError } from "../errors.js";
import type { TDict, TValue } from "../format/tnetstring.js";
import { bytesOf, entryOf, isDict, strOf, toNumber } from "./values.js";

/** A question: name, record type and class. */
export interface DNSQuestion {
  name: string;
  type: number;
  class: number;
}

/** A resource record; `data` is the raw RDATA (e.g. 4 bytes for an A record). */
export interface DNSResourceRecord extends DNSQuestion {
  ttl: number;
  data: Buffer;
}

function question(v: TValue): DNSQuestion {
  if (!isDict(v)) throw new FlowStateError("E_FLOW_SCHEMA", "dns: malformed question");
  return { name: strOf(v.get("name")), type: toNumber(v.get("type")) ?? 0, class: toNumber(v.get("class_")) ?? 0 };
}

function record(v: TValue): DNSResourceRecord {
  if (!isDict(v)) throw new FlowStateError("E_FLOW_SCHEMA", "dns: malformed resource record");
  return { ...question(v), ttl: toNumber(v.get("ttl")) ?? 0, data: bytesOf(v.get("data")) };
}

function list(state: TDict, key: string): TValue[] {
  const v = entryOf(state, key);
  return Array.isArray(v) ? v : [];
}

/** A DNS query or response. */
export class DNSMessage {
  /** @param state the message's dict in the flow state */
  constructor(readonly state: TDict) {}

  /** The transaction id. */
  get id(): number {
    return toNumber(this.state.get("id")) ?? 0;
  }

  /** True for a query, false for a response. */
  get query(): boolean {
    return this.state.get("query") === true;
  }

  /** The opcode (0 = standard query). */
  get opCode(): number {
    return toNumber(this.state.get("op_code")) ?? 0;
  }

  /** The AA flag. */
  get authoritativeAnswer(): boolean {
    return this.state.get("authoritative_answer") === true;
  }

  /** The TC flag. */
  get truncation(): boolean {
    return this.state.get("truncation") === true;
  }

  /** The RD flag. */
  get recursionDesired(): boolean {
    return this.state.get("recursion_desired") === true;
  }

  /** The RA flag. */
  get recursionAvailable(): boolean {
    return this.state.get("recursion_available") === true;
  }

  /** The reserved Z bits. */
  get reserved(): number {
    return toNumber(this.state.get("reserved")) ?? 0;
  }

  /** The RCODE (0 = no error, 3 = NXDOMAIN). */
  get responseCode(): number {
    return toNumber(this.state.get("response_code")) ?? 0;
  }

  /** The questions. */
  get questions(): DNSQuestion[] {
    return list(this.state, "questions").map(question);
  }

  /** The answer records. */
  get answers(): DNSResourceRecord[] {
    return list(this.state, "answers").map(record);
  }

  /** The authority records. */
  get authorities(): DNSResourceRecord[] {
    return list(this.state, "authorities").map(record);
  }

  /** The additional records. */
  get additionals(): DNSResourceRecord[] {
    return list(this.state, "additionals").map(record);
  }

  /** When it was received (Unix seconds), or null. */
  get timestamp(): number | null {
    return toNumber(this.state.get("timestamp"));
  }
}
