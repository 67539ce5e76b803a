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
    if (flow.type === "http" && !this.pipeline.wants("websocket_message")) return this.processHttp(flow as HTTPFlow, release);
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

  /**
   * An HTTP flow's events as savedFlowEvents gives them, from `step` on, fired without a
   * generator (the common case, once per flow): request (step 0), responseheaders (1),
   * response (2), error (3). A hook that returns a promise makes the rest wait for it.
   */
  private processHttp(flow: HTTPFlow, release: () => void, args: unknown[] = [flow], step = 0): boolean | Promise<boolean> {
    const p = this.pipeline;
    for (; step < 4; step++) {
      if (p.isKilled(flow)) return false;
      let event: ScriptEvent;
      if (step === 0) {
        if (!p.wants("request")) continue;
        event = "request";
      } else if (step === 1) {
        // a request hook may have answered: its response gets the response events
        if (!((p.wants("responseheaders") || p.wants("response")) && flow.response)) {
          step = 2; // neither response event
          continue;
        }
        event = "responseheaders";
      } else if (step === 2) event = "response";
      else {
        if (!(p.wants("error") && flow.error)) continue;
        event = "error";
      }
      const pending = p.fire(event, args, flow, release);
      const next = step + 1;
      if (pending) return pending.then(() => this.processHttp(flow, release, args, next));
    }
    return !p.isKilled(flow);
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
