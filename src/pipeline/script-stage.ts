/**
 * The scripts as a stage over saved flows: fires each flow's events in file order (spec §3):
 * HTTP `request`, then `responseheaders` and `response` if it has a response,
 * `websocket_message` per message, `error` if it has one; TCP/UDP a message event per
 * message, then `error`; DNS `dns_request`, `dns_response`, `error`. A killed flow goes no
 * further; a script's copies follow their original.
 */
import type { Flow, HTTPFlow, TCPFlow } from "../model/index.js";
import { PassingFlow } from "./passing-flow.js";
import type { Pipeline } from "./pipeline.js";
import type { ScriptEvent } from "./script.js";
import type { FlowStage } from "./stage.js";
import { messageAfter, tcpMessageEvent } from "./tcp-message-event.js";

type EventCall = [ScriptEvent, unknown[]];

const NONE: PassingFlow[] = [];

/**
 * The events of one saved flow, worked out as they are fired (a `request` hook may add a
 * response) and only for events some script listens to, so nothing is parsed for nothing.
 */
export function* savedFlowEvents(flow: Flow, p: Pipeline): Generator<EventCall, void, void> {
  const wantsError = p.wants("error");
  if (flow.type === "http") {
    const http = flow as HTTPFlow;
    if (p.wants("request")) yield ["request", [http]];
    if ((p.wants("responseheaders") || p.wants("response")) && http.response) {
      yield ["responseheaders", [http]];
      yield ["response", [http]];
    }
    if (p.wants("websocket_message") && http.websocket)
      for (const message of http.websocket.messages) yield ["websocket_message", [http, message]];
  } else if (flow.type === "tcp" || flow.type === "udp") {
    const event: ScriptEvent = flow.type === "tcp" ? "tcp_message" : "udp_message";
    if (p.wants(event)) {
      const tcp = flow as TCPFlow;
      for (const m of tcp.messages) {
        const ev = tcpMessageEvent(tcp, m.fromClient, m.content);
        yield [event, [ev]];
        if (ev.message !== m.content) m.content = messageAfter(ev);
      }
    }
  } else if (flow.type === "dns") {
    const dns = flow as Flow & { response: unknown };
    if (p.wants("dns_request")) yield ["dns_request", [flow]];
    if (p.wants("dns_response") && dns.response) yield ["dns_response", [flow]];
  }
  if (wantsError && flow.error) yield ["error", [flow]];
}

/** Fires the scripts' events on every flow that reaches it. */
export class ScriptStage implements FlowStage {
  readonly reads = "model";
  readonly keepsFlows = true;
  readonly overlaps: boolean;

  constructor(private readonly pipeline: Pipeline) {
    this.overlaps = pipeline.hasConcurrentHooks;
  }

  process(passing: PassingFlow, release: () => void): boolean | Promise<boolean> {
    const flow = passing.flow;
    const events = savedFlowEvents(flow, this.pipeline);
    // Plain hooks run without a promise per flow; the first one that returns a promise
    // makes the rest of this flow's events wait for it.
    for (;;) {
      if (this.pipeline.isKilled(flow)) return false;
      const next = events.next();
      if (next.done) return true;
      const [event, args] = next.value;
      const pending = this.pipeline.fire(event, args, flow, release);
      if (pending) return pending.then(() => this.finishAsync(flow, events, release));
    }
  }

  private async finishAsync(flow: Flow, events: Generator<EventCall, void, void>, release: () => void): Promise<boolean> {
    for (const [event, args] of iterate(events)) {
      if (this.pipeline.isKilled(flow)) return false;
      await this.pipeline.fire(event, args, flow, release);
    }
    return !this.pipeline.isKilled(flow);
  }

  followers(passing: PassingFlow): PassingFlow[] {
    const copies = this.pipeline.copiesOf(passing.flow);
    return copies.length ? copies.filter((c) => !this.pipeline.isKilled(c)).map(PassingFlow.of) : NONE;
  }
}

/** The rest of a generator already started, as an iterable. */
function iterate<T>(gen: Generator<T, void, void>): Iterable<T> {
  return { [Symbol.iterator]: () => gen };
}
