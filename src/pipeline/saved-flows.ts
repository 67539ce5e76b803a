/**
 * Fires script events over saved flows in file order (spec §3): HTTP `request`, then
 * `responseheaders` and `response` if it has a response, `websocket_message` per message,
 * `error` if it has one; TCP/UDP a message event per message, then `error`; DNS
 * `dns_request`, `dns_response`, `error`. Then hands each flow, in input order, to `emit`.
 */
import type { Flow, HTTPFlow, TCPFlow } from "../model/index.js";
import type { Pipeline } from "./pipeline.js";
import type { ScriptEvent } from "./script.js";

type EventCall = [ScriptEvent, unknown[]];

/** A TCP or UDP message as `tcp_message` sees it; `message` may be replaced. */
export interface TCPMessageEvent {
  flow: TCPFlow;
  fromClient: boolean;
  sender: unknown;
  receiver: unknown;
  message: Buffer;
}

/**
 * The events of one saved flow, worked out as they are fired (a `request` hook may add a
 * response) and only for events some script listens to, so nothing is parsed for nothing.
 */
function* savedFlowEvents(flow: Flow, p: Pipeline): Generator<EventCall, void, void> {
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
        const ev: TCPMessageEvent = {
          flow: tcp,
          fromClient: m.fromClient,
          sender: m.fromClient ? tcp.clientConn : tcp.serverConn,
          receiver: m.fromClient ? tcp.serverConn : tcp.clientConn,
          message: m.content,
        };
        yield [event, [ev]];
        if (ev.message !== m.content) m.content = ev.message;
      }
    }
  } else if (flow.type === "dns") {
    const dns = flow as Flow & { response: unknown };
    if (p.wants("dns_request")) yield ["dns_request", [flow]];
    if (p.wants("dns_response") && dns.response) yield ["dns_response", [flow]];
  }
  if (wantsError && flow.error) yield ["error", [flow]];
}

/** The positional filter: true when the flow goes through the scripts; counts the others. */
function isSelected(flow: Flow, pipeline: Pipeline, opts: SavedFlowOptions): boolean {
  if (!opts.select || opts.select(flow)) return true;
  pipeline.stats.filteredOut++;
  return false;
}

/** The common case, without the bookkeeping of flows in flight: one flow after another. */
async function runSequentially(
  flows: AsyncIterable<Flow>,
  pipeline: Pipeline,
  emit: (flow: Flow) => Promise<void> | void,
  opts: SavedFlowOptions,
): Promise<void> {
  for await (const flow of flows) {
    pipeline.stats.flowsRead++;
    if (!isSelected(flow, pipeline, opts)) {
      if (opts.keepUnselected) await emit(flow);
      continue;
    }
    for (const [event, args] of savedFlowEvents(flow, pipeline)) {
      if (pipeline.isKilled(flow)) break;
      const pending = pipeline.fire(event, args, flow);
      if (pending) await pending;
    }
    if (!pipeline.isKilled(flow)) {
      const pending = emit(flow);
      if (pending) await pending;
    }
    for (const copy of pipeline.copiesOf(flow)) if (!pipeline.isKilled(copy)) await emit(copy);
  }
}

interface InFlight {
  flow: Flow;
  task: Promise<void>;
  settled: boolean;
}

/**
 * Runs every flow through the pipeline's scripts in order. A flow's events run one after
 * another; the next flow starts when they are done, or as soon as one of them reaches a
 * `concurrent` hook (at most `concurrency` flows in flight). `emit` gets each surviving
 * flow and its duplicates in input order.
 */
/** How runSavedFlows treats the flows. */
export interface SavedFlowOptions {
  /** flows in flight at once while `concurrent` hooks run (default 16) */
  concurrency?: number;
  /** only flows this returns true for fire events and are emitted (the positional filter) */
  select?: (flow: Flow) => boolean;
  /** emit unselected flows unchanged, without events, instead of dropping them */
  keepUnselected?: boolean;
}

export async function runSavedFlows(
  flows: AsyncIterable<Flow>,
  pipeline: Pipeline,
  emit: (flow: Flow) => Promise<void> | void,
  opts: SavedFlowOptions = {},
): Promise<void> {
  if (!pipeline.hasConcurrentHooks) return runSequentially(flows, pipeline, emit, opts);
  const concurrency = opts.concurrency ?? 16;
  const window: InFlight[] = [];

  const drainHead = async (force: boolean): Promise<void> => {
    while (window.length && (force || window[0]!.settled || window.length >= concurrency)) {
      const head = window.shift()!;
      await head.task;
      if (!pipeline.isKilled(head.flow)) await emit(head.flow);
      for (const copy of pipeline.copiesOf(head.flow)) if (!pipeline.isKilled(copy)) await emit(copy);
    }
  };

  for await (const flow of flows) {
    pipeline.stats.flowsRead++;
    if (!isSelected(flow, pipeline, opts)) {
      // a kept flow waits its turn behind the flows still in flight
      if (opts.keepUnselected) window.push({ flow, task: Promise.resolve(), settled: true });
      await drainHead(false);
      continue;
    }
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const entry: InFlight = { flow, task: Promise.resolve(), settled: false };
    entry.task = (async () => {
      for (const [event, args] of savedFlowEvents(flow, pipeline)) {
        if (pipeline.isKilled(flow)) break;
        await pipeline.fire(event, args, flow, release);
      }
    })().finally(() => {
      entry.settled = true;
    });
    window.push(entry);
    await Promise.race([entry.task, released]);
    await drainHead(false);
  }
  await drainHead(true);
}
