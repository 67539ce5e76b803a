/**
 * WebSockets through `reflow capture` over the proxy's own server connections: wss in
 * regular, reverse and upstream mode, with real clients (Node `ws`, Python `websockets`),
 * the server connection recorded, and no upgrade byte sent to a TLS port in plaintext.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { type Server as HttpServer } from "node:http";
import { type AddressInfo, type Socket, createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import type { HTTPFlow } from "../../src/model/index.js";
import {
  type Listening,
  captureDirs,
  connectTunnel,
  httpFlows,
  httpsOrigin,
  killStrayCaptures,
  originCa,
  startCapture,
  startUpstreamChain,
} from "./capture-harness.js";

const dirs = captureDirs("reflow-ws-");
const { dir, confdir, proxyCa } = dirs;

let tls: Awaited<ReturnType<typeof originCa>>;
let secure: Listening<HttpServer>;
/** the port clients are sent to: it records each connection's first byte, then hands it to `secure` */
let frontPort: number;
const firstBytes: number[] = [];
let front: import("node:net").Server;

beforeAll(async () => {
  tls = await originCa();
  secure = await httpsOrigin(tls.ca, (_req, res) => res.end("not a websocket"));
  const wss = new WebSocketServer({ server: secure.server as unknown as import("node:https").Server });
  wss.on("connection", (ws, req) => {
    ws.send(`hello ${req.url}`);
    ws.on("message", (data, isBinary) => {
      if (!isBinary && data.toString() === "bye") return ws.close(4000, "done");
      ws.send(data, { binary: isBinary });
    });
  });
  front = createNetServer((s: Socket) => {
    s.once("data", (d: Buffer) => {
      firstBytes.push(d[0]!);
      s.pause();
      s.unshift(d);
      secure.server.emit("connection", s);
    });
  });
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  frontPort = (front.address() as AddressInfo).port;
});

afterAll(async () => {
  await secure?.close();
  front?.close();
  killStrayCaptures();
});

/** A Node `ws` client session: sends "ping", then "bye"; resolves with what came back. */
function chat(ws: WebSocket): Promise<{ got: string[]; code: number }> {
  const got: string[] = [];
  return new Promise((resolve, reject) => {
    ws.on("message", (d) => {
      got.push(d.toString());
      if (got.length === 1) ws.send("ping");
      else ws.send("bye");
    });
    ws.on("close", (code) => resolve({ got, code }));
    ws.on("error", reject);
  });
}

/** wss:// to the origin through the proxy's CONNECT, TLS with the proxy's CA. */
async function wssThroughProxy(proxyPort: number, path: string): Promise<{ got: string[]; code: number }> {
  const tunnel = await connectTunnel(proxyPort, "localhost", frontPort);
  const ws = new WebSocket(`wss://localhost:${frontPort}${path}`, {
    createConnection: () => tlsConnect({ socket: tunnel, servername: "localhost", ca: readFileSync(proxyCa), ALPNProtocols: ["http/1.1"] }),
  } as WebSocket.ClientOptions);
  return chat(ws);
}

function checkWebSocketFlow(f: HTTPFlow | undefined, path: string): void {
  expect(f, `a flow for ${path}`).toBeDefined();
  expect(f!.request.scheme).toBe("https");
  expect(f!.response!.statusCode).toBe(101);
  const s = f!.serverConn;
  expect(s.address).toEqual(["localhost", frontPort]);
  expect(s.peername?.[1]).toBe(frontPort);
  expect(s.timestampStart).toBeGreaterThan(0);
  expect(s.timestampTcpSetup).toBeGreaterThan(0);
  expect(s.timestampTlsSetup).toBeGreaterThan(0);
  expect(s.tlsEstablished).toBe(true);
  const texts = f!.websocket!.messages.map((m) => `${m.fromClient ? ">" : "<"}${m.text}`);
  expect(texts).toEqual([`<hello ${path}`, ">ping", "<ping", ">bye"]);
  expect(f!.websocket!.closeCode).toBe(4000);
}

describe("reflow capture: wss:// through the proxy's own server connections", () => {
  it("regular mode, Node ws over CONNECT: TLS upstream, the server connection recorded, no plaintext to the TLS port", async () => {
    const file = join(dir, "regular.mitm");
    const cap = await startCapture(["-w", file, "--confdir", confdir, "-q"], { NODE_EXTRA_CA_CERTS: tls.certFile });
    const before = firstBytes.length;
    try {
      const r = await wssThroughProxy(cap.port, "/node");
      expect(r.got).toEqual(["hello /node", "ping"]);
      expect(r.code).toBe(4000);
    } finally {
      expect((await cap.stop()).code).toBe(0);
    }
    const seen = firstBytes.slice(before);
    expect(seen.length, "connections reaching the TLS origin").toBeGreaterThan(0);
    // 0x16: a TLS handshake record; an HTTP upgrade would start with "G".
    expect(seen.every((b) => b === 0x16), `first bytes at the TLS port: ${seen}`).toBe(true);
    checkWebSocketFlow((await httpFlows(file)).find((f) => f.request.path === "/node"), "/node");
  });

  it("regular mode, Python websockets over CONNECT", async () => {
    const file = join(dir, "python.mitm");
    const cap = await startCapture(["-w", file, "--confdir", confdir, "-q"], { NODE_EXTRA_CA_CERTS: tls.certFile });
    const script = `
import asyncio, socket, ssl, sys
async def main():
    s = socket.create_connection(("127.0.0.1", ${cap.port}))
    s.sendall(b"CONNECT localhost:${frontPort} HTTP/1.1\\r\\nHost: localhost:${frontPort}\\r\\n\\r\\n")
    head = b""
    while b"\\r\\n\\r\\n" not in head:
        head += s.recv(1)
    assert head.startswith(b"HTTP/1.1 200"), head
    ctx = ssl.create_default_context(cafile=sys.argv[1])
    import websockets
    async with websockets.connect("wss://localhost:${frontPort}/python", sock=s, ssl=ctx, server_hostname="localhost") as ws:
        print(await ws.recv())
        await ws.send("ping")
        print(await ws.recv())
        await ws.send("bye")
        try:
            await ws.recv()
        except websockets.exceptions.ConnectionClosed as e:
            print("closed", e.code)
asyncio.run(main())
`;
    let out: { code: number; stdout: string; stderr: string };
    try {
      out = await new Promise((resolve) =>
        execFile("/usr/bin/python3", ["-c", script, proxyCa], (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
      );
    } finally {
      await cap.stop();
    }
    expect(out.stderr).toBe("");
    expect(out.stdout.trim().split("\n")).toEqual(["hello /python", "ping", "closed 4000"]);
    checkWebSocketFlow((await httpFlows(file)).find((f) => f.request.path === "/python"), "/python");
  });

  it("reverse mode to https://: the client speaks ws:// to the proxy, the proxy wss:// to the origin", async () => {
    const file = join(dir, "reverse.mitm");
    const before = firstBytes.length;
    const cap = await startCapture(["-m", `reverse:https://localhost:${frontPort}`, "-w", file, "--confdir", confdir, "-q"], {
      NODE_EXTRA_CA_CERTS: tls.certFile,
    });
    try {
      const r = await chat(new WebSocket(`ws://127.0.0.1:${cap.port}/reverse`));
      expect(r.got).toEqual(["hello /reverse", "ping"]);
    } finally {
      await cap.stop();
    }
    expect(firstBytes.slice(before).every((b) => b === 0x16)).toBe(true);
    checkWebSocketFlow((await httpFlows(file)).find((f) => f.request.path === "/reverse"), "/reverse");
  });

  it("upstream mode: the WebSocket goes through the upstream proxy", async () => {
    const { peer, up, peerFile, file, stop } = await startUpstreamChain(dirs, tls.certFile, "upstream");
    try {
      const r = await wssThroughProxy(up.port, "/upstream");
      expect(r.got).toEqual(["hello /upstream", "ping"]);
    } finally {
      await stop();
    }
    const [f] = (await httpFlows(file)).filter((x) => x.request.path === "/upstream");
    expect(f!.serverConn.via).toEqual(["http", ["127.0.0.1", peer.port]]);
    expect(f!.websocket!.messages.length).toBe(4);
    // the upstream proxy saw (and recorded) the same WebSocket
    checkWebSocketFlow((await httpFlows(peerFile)).find((x) => x.request.path === "/upstream"), "/upstream");
  });
});
