/**
 * The live side of the one event path: turns what the proxy reports into version-21 flows
 * and fires the live event order of spec §3 into the same Pipeline `reflow run` uses:
 * clientconnect → serverconnect → request → responseheaders → response | error → …
 * → serverdisconnect → clientdisconnect, plus websocket_message and tcp_message. Scripts
 * change a flow through the model; what they leave in the state is what the proxy sends.
 * Finished flows go to the CaptureOutput.
 */
import { domainToASCII } from "node:url";
import type { TDict, TValue } from "../format/tnetstring.js";
import {
  Client,
  DetachedState,
  type Flow,
  FlowError,
  type HTTPFlow,
  Server,
  type TCPFlow,
  WebSocketMessage,
  flowFromState,
} from "../model/index.js";
import { toFloatValue } from "../model/values.js";
import type { AnswerStage } from "../pipeline/answer-stage.js";
import type { Pipeline } from "../pipeline/pipeline.js";
import type { ScriptEvent } from "../pipeline/script.js";
import { messageAfter, tcpMessageEvent } from "../pipeline/tcp-message-event.js";
import { unixNow } from "../proxy/clock.js";
import type { ClientConnectionInfo, ServerConnectionInfo } from "../proxy/connection-info.js";
import type { HttpExchange, HttpResponseData, RequestVerdict, ResponseHeadersVerdict, ResponseVerdict } from "../proxy/exchange.js";
import type { ProxyHandler, TcpSession, WebSocketClose, WebSocketMessageData } from "../proxy/proxy-handler.js";
import type { CaptureOutput } from "./capture-output.js";
import {
  ConnectionStates,
  clientConnState,
  closeWebsocket,
  flowState,
  requestFromState,
  requestState,
  responseFromState,
  responseState,
  serverConnState,
  websocketMessageEntry,
  websocketState,
} from "./live-state.js";

/** The message recorded on flows still unfinished when the capture stops. */
export const SHUTDOWN_MESSAGE = "Capture stopped before the exchange completed (E_SHUTDOWN)";

/** A live flow: its state, and the model object made for it once something needs one. */
interface LiveFlow {
  state: DetachedState;
  dict: TDict;
  flow: Flow | null;
  /** the response dict this capture put in (a script may replace it) */
  responseDict: TDict | null;
  /** where the server connection was meant to go, for flows that never got one */
  address: [string, number];
  /** the exchange or relay: its connections as they are now */
  source: { client: ClientConnectionInfo; server: ServerConnectionInfo | null };
  written: boolean;
}

/** Implements the proxy's callbacks with flows, the pipeline and the output. */
export class LiveCapture implements ProxyHandler {
  private readonly http = new Map<HttpExchange, LiveFlow>();
  private readonly tcp = new Map<TcpSession, LiveFlow>();
  /** set when the capture stops: late events no longer reach scripts or the file */
  private stopped = false;
  private readonly connections = new ConnectionStates();

  constructor(
    private readonly pipeline: Pipeline,
    private readonly output: CaptureOutput,
    /** a stage that may answer requests before the scripts see them (server replay) */
    private readonly answers: AnswerStage | null = null,
  ) {}

  /** The model object of a live flow (made on first use). */
  private flowOf(live: LiveFlow): Flow {
    live.flow ??= flowFromState(live.state);
    return live.flow;
  }

  /** Fires a connection event (no flow). */
  private async fireConnection(event: ScriptEvent, conn: Client | Server): Promise<void> {
    if (this.stopped || !this.pipeline.wants(event)) return;
    await this.pipeline.fire(event, [conn], null);
  }

  /** Fires a flow event with the flow first, then `extra`; nothing is built when no script listens. */
  private async fireFlow(event: ScriptEvent, live: LiveFlow, ...extra: unknown[]): Promise<void> {
    if (this.stopped || !this.pipeline.wants(event)) return;
    const flow = this.flowOf(live);
    await this.pipeline.fire(event, [flow, ...extra], flow);
  }

  /** Fires a flow event on the built-in stages only, or on the scripts only (server replay answers between them). */
  private async fireFlowPart(event: ScriptEvent, live: LiveFlow, part: "stages" | "scripts"): Promise<void> {
    if (this.stopped) return;
    if (part === "stages" ? !this.pipeline.stagesWant(event) : !this.pipeline.scriptsWant(event)) return;
    const flow = this.flowOf(live);
    await (part === "stages" ? this.pipeline.fireStages(event, [flow], flow) : this.pipeline.fireScripts(event, [flow], flow));
  }

  private killed(live: LiveFlow): boolean {
    return live.flow !== null && this.pipeline.isKilled(live.flow);
  }

  // Connections

  async clientConnected(client: ClientConnectionInfo): Promise<void> {
    if (this.pipeline.wants("clientconnect")) await this.fireConnection("clientconnect", new Client(clientConnState(client)));
  }

  async clientDisconnected(client: ClientConnectionInfo): Promise<void> {
    if (this.pipeline.wants("clientdisconnect")) await this.fireConnection("clientdisconnect", new Client(clientConnState(client)));
  }

  async serverConnected(server: ServerConnectionInfo): Promise<void> {
    if (this.pipeline.wants("serverconnect")) await this.fireConnection("serverconnect", new Server(serverConnState(server, null)));
  }

  async serverDisconnected(server: ServerConnectionInfo): Promise<void> {
    if (this.pipeline.wants("serverdisconnect")) await this.fireConnection("serverdisconnect", new Server(serverConnState(server, null)));
  }

  // HTTP

  private newHttpFlow(ex: HttpExchange): LiveFlow {
    const address: [string, number] = [ex.request.host, ex.request.port];
    // The connections are filled in when the flow finishes; scripts see them before that.
    const scripted = this.pipeline.scripts.length > 0;
    const dict = flowState(
      "http",
      scripted ? clientConnState(ex.client) : null,
      scripted ? serverConnState(null, address) : null,
      ex.request.timestampStart,
    );
    dict.set("request", requestState(ex.request));
    dict.set("response", null);
    dict.set("websocket", null);
    const live: LiveFlow = { state: new DetachedState(dict), dict, flow: null, responseDict: null, address, source: ex, written: false };
    this.http.set(ex, live);
    return live;
  }

  async request(ex: HttpExchange): Promise<RequestVerdict> {
    const live = this.newHttpFlow(ex);
    this.pipeline.stats.flowsRead++;
    // With an answer stage, the built-in stages (rewrite rules) see the request before it, as
    // mitmproxy's map_remote and modify_headers come before server playback: the answer is
    // looked up for the request as the rules left it. The scripts see it after the answer.
    const stagesFirst = this.answers !== null && this.pipeline.stagesWant("request");
    if (stagesFirst) {
      await this.fireFlowPart("request", live, "stages");
      if (this.killed(live)) return { kind: "kill" };
    }
    // a stage that answered the request itself (--map-local) leaves nothing to look up
    const answeredByStage = live.dict.get("response") instanceof Map;
    const answer = answeredByStage ? null : (this.answers?.answer(live.dict.get("request") as TDict) ?? null);
    if (answer?.kind === "kill") return { kind: "kill" };
    if (answer?.kind === "respond") {
      live.dict.set("response", answer.response);
      if (answer.replay) live.dict.set("is_replay", "response");
      if (answer.error !== null) live.dict.set("error", FlowError.stateOf({ msg: answer.error, timestamp: unixNow() }));
    }
    if (!stagesFirst && !this.pipeline.wants("request")) {
      // nothing could have changed it
      if (answer?.kind === "respond") return this.answered(live, responseFromState(answer.response));
      return { kind: "forward", request: ex.request };
    }
    if (stagesFirst) await this.fireFlowPart("request", live, "scripts");
    else await this.fireFlow("request", live);
    if (this.killed(live)) return { kind: "kill" };
    const response = live.dict.get("response");
    if (response instanceof Map) return this.answered(live, null);
    const out = requestFromState(live.dict.get("request") as TDict);
    // Scripts may set Unicode host names; connections need their ASCII (IDNA) form.
    if (!/^[\x00-\x7f]*$/.test(out.host)) out.host = domainToASCII(out.host) || out.host;
    return { kind: "forward", request: out };
  }

  /**
   * A request answered before it went upstream (by the answer stage or a script): the
   * response events fire as mitmproxy fires them for such a response, then it is sent.
   * `sent` is the answer as it stands when no script can have changed it.
   */
  private async answered(live: LiveFlow, sent: HttpResponseData | null): Promise<RequestVerdict> {
    const scripted = this.pipeline.wants("responseheaders") || this.pipeline.wants("response");
    if (sent && !scripted) return { kind: "respond", response: sent };
    if (this.pipeline.wants("responseheaders")) await this.fireFlow("responseheaders", live);
    if (!this.killed(live) && this.pipeline.wants("response")) await this.fireFlow("response", live);
    if (this.killed(live)) return { kind: "kill" };
    const now = live.dict.get("response");
    return now instanceof Map ? { kind: "respond", response: responseFromState(now) } : { kind: "kill" };
  }

  async responseHeaders(ex: HttpExchange): Promise<ResponseHeadersVerdict> {
    const live = this.http.get(ex)!;
    if (this.pipeline.scripts.length > 0) live.dict.set("server_conn", serverConnState(ex.server, live.address));
    live.responseDict = responseState(ex.response!);
    live.dict.set("response", live.responseDict);
    if (ex.response!.statusCode === 101) live.dict.set("websocket", websocketState());
    await this.fireFlow("responseheaders", live);
    if (this.killed(live)) return { kind: "kill" };
    const stream = live.flow !== null && (live.flow as HTTPFlow).response?.stream === true;
    return { kind: "continue", stream };
  }

  async response(ex: HttpExchange): Promise<ResponseVerdict> {
    const live = this.http.get(ex)!;
    const r = ex.response!;
    // The body lands in the response read from the server, unless a script replaced it.
    if (live.responseDict && live.dict.get("response") === live.responseDict) {
      live.responseDict.set("content", r.content);
      live.responseDict.set("trailers", r.trailers ? r.trailers.map(([n, v]) => [n, v] as TValue[]) : null);
      live.responseDict.set("timestamp_end", r.timestampEnd === null ? null : toFloatValue(r.timestampEnd));
    }
    if (!this.pipeline.wants("response") && !this.pipeline.wants("responseheaders")) return { kind: "send", response: r };
    await this.fireFlow("response", live);
    if (this.killed(live)) return { kind: "kill" };
    const now = live.dict.get("response");
    return { kind: "send", response: now instanceof Map ? responseFromState(now) : r };
  }

  async error(ex: HttpExchange): Promise<void> {
    const live = this.http.get(ex) ?? this.newHttpFlow(ex);
    const failure = ex.failure!;
    live.dict.set("error", FlowError.stateOf({ msg: failure.flowMessage, timestamp: unixNow() }));
    if (!ex.server) live.dict.set("server_conn", serverConnState(null, live.address, failure.code.startsWith("E_UPSTREAM") ? failure.message : null));
    if (!this.killed(live)) await this.fireFlow("error", live);
  }

  responseDelivering(ex: HttpExchange): void {
    const live = this.http.get(ex);
    if (!live || live.written || this.stopped) return;
    this.finish(live);
  }

  deliveriesDue(): void {
    this.output.writeQueuedNow(); // before the clients have their whole responses
  }

  async exchangeDone(ex: HttpExchange): Promise<void> {
    const live = this.http.get(ex);
    this.http.delete(ex);
    if (live) this.finish(live);
  }

  // WebSocket

  interceptsWebSocketMessages(): boolean {
    return this.pipeline.wants("websocket_message");
  }

  async websocketMessage(ex: HttpExchange, m: WebSocketMessageData): Promise<Buffer | null> {
    const live = this.http.get(ex);
    if (!live || this.stopped) return m.content;
    let ws = live.dict.get("websocket");
    if (!(ws instanceof Map)) {
      ws = websocketState();
      live.dict.set("websocket", ws);
    }
    const entry = websocketMessageEntry(m);
    ((ws as TDict).get("messages") as TValue[]).push(entry);
    if (!this.pipeline.wants("websocket_message")) return m.content;
    const message = new WebSocketMessage(entry);
    await this.fireFlow("websocket_message", live, message);
    if (this.killed(live)) return null;
    return message.dropped ? null : message.content;
  }

  async websocketEnd(ex: HttpExchange, close: WebSocketClose): Promise<void> {
    const live = this.http.get(ex);
    const ws = live?.dict.get("websocket");
    if (ws instanceof Map) closeWebsocket(ws, close);
  }

  // TCP

  async tcpStart(session: TcpSession): Promise<void> {
    const address: [string, number] = [session.target.host, session.target.port];
    const server = serverConnState(session.server, address, session.failure?.message ?? null);
    const dict = flowState("tcp", clientConnState(session.client), server, unixNow());
    dict.set("messages", []);
    if (session.failure) dict.set("error", FlowError.stateOf({ msg: session.failure.flowMessage, timestamp: unixNow() }));
    this.tcp.set(session, { state: new DetachedState(dict), dict, flow: null, responseDict: null, address, source: session, written: false });
    this.pipeline.stats.flowsRead++;
  }

  interceptsTcpMessages(): boolean {
    return this.pipeline.wants("tcp_message");
  }

  async tcpMessage(session: TcpSession, fromClient: boolean, data: Buffer): Promise<Buffer | null> {
    const live = this.tcp.get(session);
    if (!live || this.stopped) return data;
    const entry: TValue[] = [fromClient, data, toFloatValue(unixNow())];
    (live.dict.get("messages") as TValue[]).push(entry);
    if (!this.pipeline.wants("tcp_message")) return data;
    const flow = this.flowOf(live) as TCPFlow;
    const ev = tcpMessageEvent(flow, fromClient, data);
    if (!this.stopped) await this.pipeline.fire("tcp_message", [ev], flow);
    if (this.killed(live)) return null;
    const out = messageAfter(ev);
    entry[1] = out;
    return out;
  }

  async tcpEnd(session: TcpSession): Promise<void> {
    const live = this.tcp.get(session);
    this.tcp.delete(session);
    if (!live) return;
    if (session.failure && live.dict.get("error") === null) {
      live.dict.set("error", FlowError.stateOf({ msg: session.failure.flowMessage, timestamp: unixNow() }));
      if (!this.killed(live)) await this.fireFlow("error", live);
    }
    this.finish(live);
  }

  // Output

  private finish(live: LiveFlow): void {
    if (live.written || this.stopped) return;
    live.written = true;
    // The connections as they are when the flow is written (as mitmproxy saves them).
    const d = live.dict;
    d.set("client_conn", this.connections.client(live.source.client));
    if (live.source.server) d.set("server_conn", this.connections.server(live.source.server, live.address));
    else if (d.get("server_conn") === null) d.set("server_conn", serverConnState(null, live.address));
    this.output.add(live.state, this.output.wantsFlowObjects ? this.flowOf(live) : null);
    // ctx.duplicateFlow copies go right after their original, as in `reflow run`.
    if (live.flow) for (const copy of this.pipeline.copiesOf(live.flow)) this.output.add(copy.state, copy);
  }

  /** Flows not finished yet. */
  get unfinished(): number {
    return this.http.size + this.tcp.size;
  }

  /**
   * Stops: every unfinished flow is written now (with an error saying so), and later
   * events of the proxy's teardown no longer reach scripts or the file.
   */
  stop(): void {
    const now = unixNow();
    for (const live of [...this.http.values(), ...this.tcp.values()]) {
      if (live.dict.get("error") === null) live.dict.set("error", FlowError.stateOf({ msg: SHUTDOWN_MESSAGE, timestamp: now }));
      const ws = live.dict.get("websocket");
      if (ws instanceof Map && ws.get("timestamp_end") === null) closeWebsocket(ws, { closedByClient: null, code: 1001, reason: "", timestampEnd: now });
      this.finish(live);
    }
    this.http.clear();
    this.tcp.clear();
    this.stopped = true;
  }
}
