/**
 * Real clients (curl over HTTP/1.1 and HTTP/2, curl's h2c upgrade, Python httpx with
 * HTTP/2, Python websockets and Node ws over wss, Node fetch through undici's ProxyAgent) through `reflow capture --flow-version 17` and
 * through Debian's mitmdump 8.1.1, one after the other, against the same local origins:
 * mitmdump loads reflow's capture, and `reflow diff --by request` finds nothing between the
 * two captures beyond timestamps, connection ids and addresses (and the WebSocket keys
 * the client draws at random). Skipped where mitmdump is missing, required in CI.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { type Http2SecureServer, createSecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { connect as tlsConnect } from "node:tls";
import { ProxyAgent, fetch as undiciFetch } from "undici";
import WebSocket, { WebSocketServer } from "ws";
import { type Listening, connectTunnel, curl, httpOrigin, killStrayCaptures, originCa, startCapture, tempDir } from "../proxy/capture-harness.js";
import { hasMitmdump, reflow } from "../helpers.js";

const mitmdump = hasMitmdump();
const dir = tempDir("reflow-clients-");
const confdir = join(dir, "conf");
const ours = join(dir, "reflow.mitm");
const theirs = join(dir, "mitmdump.mitm");
const clientCa = join(confdir, "mitmproxy-ca-cert.pem");

let h2: Http2SecureServer;
let h2Port: number;
let plain: Listening<import("node:http").Server>;
let originCaFile: string;

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    ),
  );
}

const websocketClient = `
import asyncio, socket, ssl, sys
import websockets
async def main():
    port, host_port, ca = sys.argv[1], sys.argv[2], sys.argv[3]
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.sendall(b"CONNECT " + host_port.encode() + b" HTTP/1.1\\r\\nHost: " + host_port.encode() + b"\\r\\n\\r\\n")
    head = b""
    while b"\\r\\n\\r\\n" not in head:
        head += s.recv(1)
    ctx = ssl.create_default_context(cafile=ca)
    async with websockets.connect("wss://" + host_port + "/ws", sock=s, ssl=ctx, server_hostname="localhost", compression=None) as ws:
        await ws.send("ping")
        print(await ws.recv())
asyncio.run(main())
`;

const httpxClient = `
import sys, httpx
with httpx.Client(http2=True, proxies=sys.argv[1], verify=sys.argv[2]) as c:
    r = c.post(sys.argv[3], content=b"from httpx", headers={"user-agent": "httpx-test"})
    print(r.http_version, r.text)
`;

/** The same traffic through the proxy on `port`. */
async function traffic(port: number): Promise<void> {
  const proxy = ["-x", `http://127.0.0.1:${port}`, "--cacert", clientCa];
  expect((await curl([...proxy, "--http1.1", `https://localhost:${h2Port}/h1`])).stdout.toString()).toBe("GET /h1 1.1");
  expect((await curl([...proxy, "--http2", "-d", "abc", `https://localhost:${h2Port}/h2`])).stdout.toString()).toBe("POST /h2 2.0");
  expect((await curl([...proxy, "--http2", `http://127.0.0.1:${plain.port}/h2c`])).stdout.toString()).toBe("GET /h2c 1.1");
  const x = await run("/usr/bin/python3", ["-c", httpxClient, `http://127.0.0.1:${port}`, clientCa, `https://localhost:${h2Port}/httpx`]);
  expect(x.stdout.trim(), x.stderr).toBe("HTTP/2 POST /httpx 2.0");
  const w = await run("/usr/bin/python3", ["-c", websocketClient, String(port), `localhost:${h2Port}`, clientCa]);
  expect(w.stdout.trim(), w.stderr).toBe("ping");
  const agent = new ProxyAgent({ uri: `http://127.0.0.1:${port}`, requestTls: { ca: readFileSync(clientCa), servername: "localhost" } });
  try {
    const f = await undiciFetch(`https://localhost:${h2Port}/fetch`, { dispatcher: agent, headers: { "user-agent": "undici-test" } });
    expect(await f.text()).toBe("GET /fetch 1.1");
  } finally {
    await agent.close();
  }
  const tunnel = await connectTunnel(port, "localhost", h2Port);
  const ws = new WebSocket(`wss://localhost:${h2Port}/node-ws`, {
    perMessageDeflate: false,
    createConnection: () => tlsConnect({ socket: tunnel, servername: "localhost", ca: readFileSync(clientCa), ALPNProtocols: ["http/1.1"] }),
  } as WebSocket.ClientOptions);
  const echoed = await new Promise<string>((resolve, reject) => {
    ws.on("open", () => ws.send("node ping"));
    ws.on("message", (d) => (ws.close(1000), resolve(d.toString())));
    ws.on("error", reject);
  });
  expect(echoed).toBe("node ping");
  await new Promise((r) => ws.once("close", r));
}

/** Starts mitmdump on a free port and waits for its listening line. */
function startMitmdump(): Promise<{ port: number; proc: ChildProcess }> {
  const proc = spawn(
    "mitmdump",
    ["-p", "0", "--listen-host", "127.0.0.1", "--set", `confdir=${confdir}`, "--set", `ssl_verify_upstream_trusted_ca=${originCaFile}`, "-w", theirs],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let seen = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mitmdump did not start: ${seen}`)), 30_000);
    const onData = (d: Buffer): void => {
      seen += d.toString();
      const m = /listening at (?:http:\/\/)?[\d.*]+:(\d+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve({ port: Number(m[1]), proc });
      }
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
  });
}

describe.skipIf(!mitmdump)("real clients through reflow capture and mitmdump 8.1.1: the same flows", () => {
  beforeAll(async () => {
    const tls = await originCa();
    originCaFile = tls.certFile;
    const leaf = await tls.ca.leaf("localhost");
    h2 = createSecureServer({ key: leaf.keyPem, cert: leaf.pem, allowHTTP1: true }, (req, res) => {
      req.resume();
      // No Date: both captures must see the same response.
      res.sendDate = false;
      req.on("end", () => res.end(`${req.method} ${req.url} ${req.httpVersion}`));
    });
    const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
    h2.on("upgrade", (req, socket, head) => wss.handleUpgrade(req, socket, head, (ws) => ws.on("message", (d) => ws.send(d.toString()))));
    await new Promise<void>((r) => h2.listen(0, "127.0.0.1", r));
    h2Port = (h2.address() as AddressInfo).port;
    plain = await httpOrigin((req, res) => {
      req.resume();
      res.sendDate = false;
      req.on("end", () => res.end(`${req.method} ${req.url} ${req.httpVersion}`));
    });

    // mitmdump first: it makes the CA in the confdir, which reflow then uses too.
    const md = await startMitmdump();
    try {
      await traffic(md.port);
    } finally {
      md.proc.kill("SIGINT");
      await new Promise((r) => md.proc.once("exit", r));
    }
    const cap = await startCapture(["-w", ours, "--flow-version", "17", "--confdir", confdir, "-q"], { NODE_EXTRA_CA_CERTS: originCaFile });
    try {
      await traffic(cap.port);
    } finally {
      expect((await cap.stop()).code).toBe(0);
    }
  }, 120_000);

  afterAll(async () => {
    h2?.close();
    await plain?.close();
    killStrayCaptures();
  });

  it("mitmdump 8.1.1 loads reflow's capture", () => {
    const r = spawnSync("mitmdump", ["-nr", ours, "--set", `confdir=${confdir}`], { encoding: "utf8" });
    expect(r.status, r.stderr + r.stdout).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/Traceback|error/i);
    for (const path of ["/h1", "/h2", "/h2c", "/httpx", "/ws", "/fetch", "/node-ws"]) expect(r.stdout).toContain(path);
  });

  it("reflow diff --by request finds no differences beyond timestamps, ids and addresses", () => {
    const r = reflow(["diff", "--by", "request", "--ignore-header", "sec-websocket-key", "--ignore-header", "sec-websocket-accept", theirs, ours]);
    expect(r.status, r.stdout.toString() + r.stderr.toString()).toBe(0);
  });
});
