/**
 * Scripts act live in `reflow capture`: they change requests before they go upstream and
 * responses before they reach the client, answer requests themselves, kill flows, stream
 * bodies, change WebSocket and TCP messages, see the live event order, and are reloaded
 * when their file changes.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import type { HTTPFlow, TCPFlow } from "../../src/model/index.js";
import {
  type Listening,
  type RunningCapture,
  connectTunnel,
  httpFlows,
  httpOrigin,
  killStrayCaptures,
  readCapture,
  sleep,
  startCapture,
  tcpEcho,
  tcpExchange,
  tempDir,
  viaProxy,
  waitForFlowOfType,
  waitForHttpFlow,
} from "./capture-harness.js";

const dir = tempDir();
const confdir = join(dir, "conf");
const out = join(dir, "scripts.mitm");
const eventsFile = join(dir, "events.log");
const hits: string[] = [];
let origin: Listening<import("node:http").Server>;
let echo: Listening<import("node:net").Server>;
let wss: WebSocketServer;
let wsPort: number;
let cap: RunningCapture;
const wsReceived: string[] = [];

const liveScript = `
import { Response, type HTTPFlow, type ScriptContext } from "reflow";
export function request(ctx: ScriptContext, flow: HTTPFlow) {
  if (flow.request.path === "/rewrite-me") flow.request.path = "/rewritten";
  if (flow.request.path === "/mock") flow.response = Response.make(203, "mocked body", { "X-Mocked": "yes" });
  if (flow.request.path === "/kill") ctx.killFlow(flow);
}
export function responseheaders(ctx: ScriptContext, flow: HTTPFlow) {
  if (flow.request.path === "/stream") flow.response!.stream = true;
}
export function response(ctx: ScriptContext, flow: HTTPFlow) {
  flow.response!.headers.set("X-Added", "by-script");
  if (flow.request.path === "/kill-response") ctx.killFlow(flow);
  if (flow.request.path === "/dup") ctx.duplicateFlow(flow).comment = "the copy";
}
export function websocket_message(ctx: ScriptContext, flow: HTTPFlow, message: any) {
  if (message.fromClient && message.text === "hello") message.text = "HELLO";
  if (message.fromClient && message.text === "drop me") message.dropped = true;
}
export function tcp_message(ctx: ScriptContext, m: { fromClient: boolean; message: Buffer }) {
  if (m.fromClient) m.message = Buffer.from(m.message.toString().toUpperCase());
}
`;

const eventScript = (file: string): string => `
import { appendFileSync } from "node:fs";
const log = (s: string) => appendFileSync(${JSON.stringify(file)}, s + "\\n");
export function start(ctx: any, argv: string[]) { log("start " + argv.slice(1).join(",")); }
export function done() { log("done"); }
export function clientconnect(ctx: any, client: any) { log("clientconnect " + client.peername[0]); }
export function clientdisconnect() { log("clientdisconnect"); }
export function serverconnect(ctx: any, server: any) { log("serverconnect " + server.address[1]); }
export function serverdisconnect() { log("serverdisconnect"); }
export function request(ctx: any, flow: any) { log("request " + flow.request.path); }
export function responseheaders(ctx: any, flow: any) { log("responseheaders " + (flow.response.rawContent === null)); }
export function response(ctx: any, flow: any) { log("response " + flow.response.rawContent.length); }
export function error(ctx: any, flow: any) { log("error " + flow.error.msg); }
`;

beforeAll(async () => {
  origin = await httpOrigin((req, res) => {
    hits.push(req.url ?? "");
    req.resume();
    req.on("end", () => {
      const body = `origin saw ${req.url}`;
      res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
  echo = await tcpEcho();
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.once("listening", r));
  wsPort = (wss.address() as import("node:net").AddressInfo).port;
  wss.on("connection", (ws) => ws.on("message", (d) => {
    wsReceived.push(d.toString());
    if (d.toString() === "bye") ws.close(1000, "ok");
    else ws.send(d);
  }));
  writeFileSync(join(dir, "live.ts"), liveScript);
  writeFileSync(join(dir, "events.ts"), eventScript(eventsFile));
  cap = await startCapture([
    "-w", out, "--confdir", confdir, "-q",
    "-s", join(dir, "live.ts"),
    "-s", `${join(dir, "events.ts")} one two`,
    "--tcp-hosts", `:${echo.port}$`,
  ]);
});

afterAll(async () => {
  await cap?.stop();
  await origin?.close();
  await echo?.close();
  wss?.close();
  killStrayCaptures();
});

/** The flow whose path is `path` (the last one, if several). */
const flowFor = (path: string): Promise<HTTPFlow> => waitForHttpFlow(out, path);

const url = (path: string): string => `http://127.0.0.1:${origin.port}${path}`;

describe("reflow capture: scripts act live", () => {
  it("adds a response header before the response reaches the client", async () => {
    const r = await viaProxy(cap.port, url("/plain"));
    expect(r.body.toString()).toBe("origin saw /plain");
    expect(r.headers).toContain("X-Added");
    expect((await flowFor("/plain")).response!.headers.get("x-added")).toBe("by-script");
  });

  it("rewrites the request path before it goes upstream", async () => {
    const r = await viaProxy(cap.port, url("/rewrite-me"));
    expect(r.body.toString()).toBe("origin saw /rewritten");
    expect(hits).toContain("/rewritten");
    expect(hits).not.toContain("/rewrite-me");
    expect((await flowFor("/rewritten")).response!.statusCode).toBe(200);
  });

  it("answers a request itself: the mocked response never reaches upstream, and gets the response event", async () => {
    const r = await viaProxy(cap.port, url("/mock"));
    expect(r.status).toBe(203);
    expect(r.body.toString()).toBe("mocked body");
    expect(r.headers, "the response hook ran on the answer, as in mitmproxy").toContain("by-script");
    expect(hits).not.toContain("/mock");
    const f = await flowFor("/mock");
    expect(f.response!.headers.get("X-Mocked")).toBe("yes");
    expect(f.serverConn.peername).toBeNull();
  });

  it("kills a flow: the connection closes, the flow records the kill", async () => {
    await expect(viaProxy(cap.port, url("/kill"))).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(hits).not.toContain("/kill");
    const f = await flowFor("/kill");
    expect(f.error!.msg).toBe("Connection killed.");
    expect(f.response).toBeNull();

    await expect(viaProxy(cap.port, url("/kill-response"))).rejects.toThrow(/socket hang up|ECONNRESET/);
    expect(hits).toContain("/kill-response");
    const g = await flowFor("/kill-response");
    expect(g.error!.msg).toBe("Connection killed.");
  });

  it("writes a duplicated flow right after its original", async () => {
    await viaProxy(cap.port, url("/dup"));
    await flowFor("/dup");
    await sleep(100);
    const flows = (await httpFlows(out)).filter((f) => f.request.path === "/dup");
    expect(flows.map((f) => f.comment)).toEqual(["", "the copy"]);
    expect(flows[0]!.id).not.toBe(flows[1]!.id);
  });

  it("streams a body unrecorded when responseheaders sets stream", async () => {
    const r = await viaProxy(cap.port, url("/stream"));
    expect(r.body.toString()).toBe("origin saw /stream");
    const f = await flowFor("/stream");
    expect(f.response!.statusCode).toBe(200);
    expect(f.response!.rawContent).toBeNull();
    expect(f.error).toBeNull();
  });

  it("changes and drops WebSocket messages", async () => {
    const tunnel = await connectTunnel(cap.port, "127.0.0.1", wsPort);
    const ws = new WebSocket(`ws://127.0.0.1:${wsPort}/ws`, { createConnection: () => tunnel } as WebSocket.ClientOptions);
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on("open", () => {
        ws.send("hello");
        ws.send("drop me");
        ws.send("bye");
      });
      ws.on("message", (d) => got.push(d.toString()));
      ws.on("close", () => resolve());
      ws.on("error", reject);
    });
    expect(wsReceived).toEqual(["HELLO", "bye"]);
    expect(got).toEqual(["HELLO"]);
    const w = (await flowFor("/ws")).websocket!;
    expect(w.messages.filter((m) => m.fromClient).map((m) => [m.text, m.dropped])).toEqual([
      ["HELLO", false],
      ["drop me", true],
      ["bye", false],
    ]);
    expect(w.closeCode).toBe(1000);
  });

  it("changes TCP messages in tcp_message", async () => {
    const echoed = await tcpExchange(cap.port, "127.0.0.1", echo.port, ["shout this"], 100);
    expect(echoed).toBe("SHOUT THIS");
    const tcp = (await waitForFlowOfType(out, "tcp")) as TCPFlow | undefined;
    expect(tcp!.messages.map((m) => [m.fromClient, m.content.toString()])).toEqual([
      [true, "SHOUT THIS"],
      [false, "SHOUT THIS"],
    ]);
  });

  it("fires the live events in order: connection events around the exchange, start and done", async () => {
    writeFileSync(eventsFile, "");
    const agent = new (await import("node:http")).Agent({ keepAlive: false });
    await viaProxy(cap.port, url("/order"), { agent });
    await sleep(300);
    const events = readFileSync(eventsFile, "utf8").trim().split("\n");
    expect(events).toEqual([
      "clientconnect 127.0.0.1",
      "request /order",
      `serverconnect ${origin.port}`,
      "responseheaders true",
      "response 17",
      "serverdisconnect",
      "clientdisconnect",
    ]);
  });

  it("fires error for a failed exchange", async () => {
    writeFileSync(eventsFile, "");
    const r = await viaProxy(cap.port, "http://127.0.0.1:1/nothing-here");
    expect(r.status).toBe(502);
    await sleep(200);
    const events = readFileSync(eventsFile, "utf8").trim().split("\n");
    expect(events).toContain("request /nothing-here");
    expect(events.some((e) => /^error Connection refused .*\(E_UPSTREAM_REFUSED\)$/.test(e))).toBe(true);
  });

  it("fires start with the script's arguments at launch and done at shutdown", async () => {
    const file = join(dir, "lifecycle.log");
    writeFileSync(join(dir, "lifecycle.ts"), eventScript(file));
    const c = await startCapture(["--confdir", confdir, "-q", "-s", `${join(dir, "lifecycle.ts")} a b`]);
    expect((await c.stop()).code).toBe(0);
    expect(readFileSync(file, "utf8").trim().split("\n")).toEqual(["start a,b", "done"]);
  });

  it("reloads a script when its file changes", async () => {
    const script = join(dir, "reload.ts");
    const v = (n: number): string => `export function response(ctx: any, flow: any) { flow.response.headers.set("X-Version", "${n}"); }\n`;
    writeFileSync(script, v(1));
    const file = join(dir, "reload.mitm");
    const c = await startCapture(["-w", file, "--confdir", confdir, "-q", "-s", script]);
    try {
      const a = await viaProxy(c.port, url("/v"));
      expect(a.headers[a.headers.indexOf("X-Version") + 1]).toBe("1");
      await sleep(50);
      writeFileSync(script, v(2));
      for (let i = 0; i < 100 && !c.stderr().includes("Reloaded"); i++) await sleep(50);
      expect(c.stderr()).toContain("Reloaded");
      const b = await viaProxy(c.port, url("/v"));
      expect(b.headers[b.headers.indexOf("X-Version") + 1]).toBe("2");
    } finally {
      await c.stop();
    }
  });

  it("a script that fails to load stops the capture before it listens (exit 2)", async () => {
    const bad = join(dir, "bad.ts");
    writeFileSync(bad, "export function request( {\n");
    await expect(startCapture(["--confdir", confdir, "-q", "-s", bad])).rejects.toThrow(/exited before listening[\s\S]*bad\.ts/);
  });
});
