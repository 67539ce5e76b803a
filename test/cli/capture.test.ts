/**
 * `reflow capture` end to end: the CLI as a child process on a port it picked, local
 * origins, curl and Node clients through it, and the recorded file read back.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { Agent } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import type { HTTPFlow, TCPFlow } from "../../src/model/index.js";
import {
  type Listening,
  type RunningCapture,
  connectTunnel,
  curl,
  headerList,
  httpFlows,
  httpOrigin,
  httpsOrigin,
  killStrayCaptures,
  originCa,
  readCapture,
  sleep,
  startCapture,
  tcpEcho,
  tcpExchange,
  tempDir,
  tlsOverTunnel,
  viaProxy,
  waitForFlowOfType,
  waitForHttpFlow,
} from "../proxy/capture-harness.js";
import { reflow } from "../helpers.js";

/** Polls the (live) capture file until it holds `n` flows. */
async function waitForFlows(path: string, n: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await readCapture(path)).length >= n) return;
    } catch {
      /* a record being written */
    }
    await sleep(25);
  }
  throw new Error(`${path} never held ${n} flows`);
}

const dir = tempDir();
const confdir = join(dir, "conf");
const caCert = (): string => readFileSync(join(confdir, "reflow-ca-cert.pem"), "utf8");

let origin: Listening<import("node:http").Server>;
let tls: Awaited<ReturnType<typeof originCa>>;
let secure: Listening<import("node:http").Server>;
let untrusted: Listening<import("node:http").Server>;
let echo: Listening<import("node:net").Server>;
let ignored: Listening<import("node:http").Server>;
let wss: WebSocketServer;
let wsPort: number;
let cap: RunningCapture;
const out = join(dir, "forward.mitm");
const bigBody = Buffer.alloc(5 * 1024 * 1024);
for (let i = 0; i < bigBody.length; i++) bigBody[i] = (i * 7 + (i >> 12)) & 0xff;
const bigFile = join(dir, "big.bin");

beforeAll(async () => {
  writeFileSync(bigFile, bigBody);
  origin = await httpOrigin((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (req.url === "/raw-headers") {
        res.writeHead(200, "Fine", ["X-Origin", "yes", "Content-Type", "text/plain", "set-cookie", "a=1", "Set-Cookie", "b=2", "content-length", "5"]);
        return res.end("hello");
      }
      if (req.url === "/chunked") {
        res.writeHead(200, ["Content-Type", "text/plain", "Transfer-Encoding", "chunked"]);
        res.write("part one, ");
        return setTimeout(() => res.end("part two"), 20);
      }
      const text = `${req.method} ${req.url} ${body.length} ${createHash("sha256").update(body).digest("hex")}`;
      res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(text) });
      res.end(text);
    });
  });
  tls = await originCa();
  secure = await httpsOrigin(tls.ca, (req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    // /resume…: whether the proxy's TLS connection resumed an earlier session
    if (req.url?.startsWith("/resume")) return res.end(`resumed ${(req.socket as import("node:tls").TLSSocket).isSessionReused()}`);
    res.end(`secure ${req.url}`);
  });
  untrusted = await httpsOrigin((await originCa()).ca, (_req, res) => res.end("should not be reached"));
  ignored = await httpsOrigin(tls.ca, (_req, res) => res.end("ignored origin"));
  echo = await tcpEcho();
  wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wss.once("listening", r));
  wsPort = (wss.address() as import("node:net").AddressInfo).port;
  wss.on("connection", (ws) => {
    ws.on("message", (data, isBinary) => {
      if (!isBinary && data.toString() === "bye") return ws.close(4000, "done here");
      ws.send(data, { binary: isBinary });
    });
  });
  cap = await startCapture(
    ["-w", out, "--confdir", confdir, "--tcp-hosts", `:${echo.port}$`, "--ignore-hosts", `^127\\.0\\.0\\.1:${ignored.port}$`, "-q"],
    { NODE_EXTRA_CA_CERTS: tls.certFile },
  );
});

afterAll(async () => {
  await cap?.stop();
  await Promise.all([origin, secure, untrusted, ignored, echo].map((s) => s?.close()));
  wss?.close();
  killStrayCaptures();
});

/** The flow whose path is `path` (the last one, if several). */
const flowFor = (path: string): Promise<HTTPFlow> => waitForHttpFlow(out, path);

describe("reflow capture: forward proxy", () => {
  it("creates its CA in the confdir, the key file 0600", () => {
    expect(statSync(join(confdir, "reflow-ca.pem")).mode & 0o777).toBe(0o600);
    expect(caCert()).toContain("BEGIN CERTIFICATE");
  });

  it("records a GET exactly as sent: headers in order and case, both ways", async () => {
    const received = await viaProxy(cap.port, `http://127.0.0.1:${origin.port}/raw-headers?node`, {
      headers: ["Host", `127.0.0.1:${origin.port}`, "x-LOWER-upper", "1"],
    });
    const r = await curl([
      "-x", `http://127.0.0.1:${cap.port}`,
      "-H", "X-Mixed-Case: A",
      "-H", "x-dup: 1",
      "-H", "X-Dup: 2",
      `http://127.0.0.1:${origin.port}/raw-headers`,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe("hello");
    const f = await flowFor("/raw-headers");
    expect(f.request.method).toBe("GET");
    expect(f.request.scheme).toBe("http");
    expect(f.request.host).toBe("127.0.0.1");
    expect(f.request.port).toBe(origin.port);
    expect(f.request.httpVersion).toBe("HTTP/1.1");
    expect(headerList(f.request.headers.fields)).toEqual([
      ["Host", `127.0.0.1:${origin.port}`],
      ["User-Agent", expect.stringMatching(/^curl\//)],
      ["Accept", "*/*"],
      ["Proxy-Connection", "Keep-Alive"],
      ["X-Mixed-Case", "A"],
      ["x-dup", "1"],
      ["X-Dup", "2"],
    ]);
    expect(f.request.rawContent).toEqual(Buffer.alloc(0));
    expect(f.response!.statusCode).toBe(200);
    expect(f.response!.reason).toBe("Fine");
    expect(headerList(f.response!.headers.fields).slice(0, 5)).toEqual([
      ["X-Origin", "yes"],
      ["Content-Type", "text/plain"],
      ["set-cookie", "a=1"],
      ["Set-Cookie", "b=2"],
      ["content-length", "5"],
    ]);
    // what the client got is what was recorded (Node's origin adds Date, Connection, Keep-Alive)
    const g = await flowFor("/raw-headers?node");
    expect(headerList(g.request.headers.fields)).toEqual([
      ["Host", `127.0.0.1:${origin.port}`],
      ["x-LOWER-upper", "1"],
      ["Connection", expect.stringMatching(/^(keep-alive|close)$/)],
    ]);
    expect(headerList(g.response!.headers.fields).flat()).toEqual(received.headers);
    expect(f.response!.rawContent!.toString()).toBe("hello");
    expect(f.error).toBeNull();
    expect(f.clientConn.peername![0]).toBe("127.0.0.1");
    expect(f.clientConn.proxyMode).toBe("regular");
    expect(f.serverConn.address).toEqual(["127.0.0.1", origin.port]);
    expect(f.serverConn.peername).toEqual(["127.0.0.1", origin.port]);
    expect(f.serverConn.tls).toBe(false);
  });

  it("records a chunked 5 MB upload and a chunked response, de-chunked", async () => {
    const r = await curl([
      "-x", `http://127.0.0.1:${cap.port}`,
      "-H", "Transfer-Encoding: chunked",
      "-H", "Content-Type: application/octet-stream",
      "--data-binary", `@${bigFile}`,
      `http://127.0.0.1:${origin.port}/upload`,
    ]);
    const digest = createHash("sha256").update(bigBody).digest("hex");
    expect(r.stdout.toString()).toBe(`POST /upload ${bigBody.length} ${digest}`);
    const f = await flowFor("/upload");
    expect(f.request.rawContent!.equals(bigBody)).toBe(true);
    expect(f.request.headers.get("transfer-encoding")).toBe("chunked");

    const c = await curl(["-x", `http://127.0.0.1:${cap.port}`, `http://127.0.0.1:${origin.port}/chunked`]);
    expect(c.stdout.toString()).toBe("part one, part two");
    const g = await flowFor("/chunked");
    expect(g.response!.rawContent!.toString()).toBe("part one, part two");
    expect(g.response!.headers.get("Transfer-Encoding")).toBe("chunked");
  });

  it("answers Expect: 100-continue itself and records the body", async () => {
    const r = await curl([
      "-x", `http://127.0.0.1:${cap.port}`,
      "-H", "Expect: 100-continue",
      "--data-binary", "x".repeat(3000),
      `http://127.0.0.1:${origin.port}/expect`,
    ]);
    expect(r.stdout.toString()).toMatch(/^POST \/expect 3000 /);
    const f = await flowFor("/expect");
    expect(f.request.rawContent!.length).toBe(3000);
    // as mitmproxy: the expectation was met by the proxy, so it is not passed on
    expect(f.request.headers.has("expect")).toBe(false);
  });

  it("speaks HTTP/1.0", async () => {
    const r = await curl(["--http1.0", "-x", `http://127.0.0.1:${cap.port}`, `http://127.0.0.1:${origin.port}/ten`]);
    expect(r.stdout.toString()).toMatch(/^GET \/ten 0 /);
    expect((await flowFor("/ten")).request.httpVersion).toBe("HTTP/1.0");
  });

  it("serves many requests on one keep-alive connection, one flow each", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 20; i++) {
      const r = await viaProxy(cap.port, `http://127.0.0.1:${origin.port}/ka/${i}`, {
        agent,
        headers: ["Host", `127.0.0.1:${origin.port}`],
      });
      expect(r.status).toBe(200);
    }
    agent.destroy();
    const flows: HTTPFlow[] = [];
    for (let i = 0; i < 20; i++) flows.push(await flowFor(`/ka/${i}`));
    expect(new Set(flows.map((f) => f.clientConn.id)).size).toBe(1);
    expect(new Set(flows.map((f) => f.serverConn.id)).size).toBe(1);
  });

  it("intercepts HTTPS over CONNECT with its CA and records both sides' TLS", async () => {
    const r = await curl([
      "-x", `http://127.0.0.1:${cap.port}`,
      "--cacert", join(confdir, "reflow-ca-cert.pem"),
      `https://localhost:${secure.port}/tls?q=1`,
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout.toString()).toBe("secure /tls?q=1");
    const f = await flowFor("/tls?q=1");
    expect(f.request.scheme).toBe("https");
    expect(f.request.host).toBe("localhost");
    expect(f.request.port).toBe(secure.port);
    expect(f.request.url).toBe(`https://localhost:${secure.port}/tls?q=1`);
    const c = f.clientConn;
    expect(c.tls).toBe(true);
    expect(c.sni).toBe("localhost");
    expect(c.alpn?.toString()).toBe("http/1.1");
    expect(c.alpnOffers.map(String)).toContain("http/1.1");
    expect(c.tlsVersion).toMatch(/^TLSv1\.[23]$/);
    expect(c.cipher).toBeTruthy();
    expect(c.timestampTlsSetup).toBeGreaterThan(c.timestampStart!);
    expect(c.mitmcert?.toString()).toContain("BEGIN CERTIFICATE");
    const s = f.serverConn;
    expect(s.tls).toBe(true);
    expect(s.sni).toBe("localhost");
    expect(s.alpn?.toString()).toBe("http/1.1");
    expect(s.tlsVersion).toMatch(/^TLSv1\.[23]$/);
    // only what the server sent (its leaf), not the test CA that verified it
    expect(s.certificateList.length).toBe(1);
    expect(s.certificateList[0]!.toString()).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(s.certificateList[0]!.toString()).not.toBe(readFileSync(tls.certFile, "utf8"));
    expect(s.timestampTlsSetup).toBeGreaterThanOrEqual(s.timestampTcpSetup!);
  });

  it("intercepts an IP-literal HTTPS target (no SNI: the certificate names the IP)", async () => {
    const r = await curl([
      "-x", `http://127.0.0.1:${cap.port}`,
      "--cacert", join(confdir, "reflow-ca-cert.pem"),
      `https://127.0.0.1:${secure.port}/ip`,
    ]);
    expect(r.stderr).toBe("");
    expect(r.stdout.toString()).toBe("secure /ip");
    const f = await flowFor("/ip");
    expect(f.request.host).toBe("127.0.0.1");
    expect(f.clientConn.sni).toBeNull();
    expect(f.serverConn.sni).toBeNull();
  });

  it("works for a Node client over CONNECT + TLS", async () => {
    const tunnel = await connectTunnel(cap.port, "localhost", secure.port);
    const t = await tlsOverTunnel(tunnel, "localhost", caCert());
    t.write(`GET /node HTTP/1.1\r\nHost: localhost:${secure.port}\r\nConnection: close\r\n\r\n`);
    const chunks: Buffer[] = [];
    await new Promise<void>((r) => t.on("data", (c: Buffer) => chunks.push(c)).on("end", r));
    const text = Buffer.concat(chunks).toString();
    expect(text).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(text).toContain("secure /node");
    expect((await flowFor("/node")).request.headers.get("connection")).toBe("close");
  });

  it("resumes the TLS session of a server seen before, recording the certificates of the full handshake", async () => {
    const get = async (path: string): Promise<string> => {
      const tunnel = await connectTunnel(cap.port, "localhost", secure.port);
      const t = await tlsOverTunnel(tunnel, "localhost", caCert());
      t.write(`GET ${path} HTTP/1.1\r\nHost: localhost:${secure.port}\r\nConnection: close\r\n\r\n`);
      const chunks: Buffer[] = [];
      await new Promise<void>((r) => t.on("data", (c: Buffer) => chunks.push(c)).on("end", r));
      return Buffer.concat(chunks).toString();
    };
    await get("/resume-first");
    expect(await get("/resume-second")).toContain("resumed true");
    const [first, second] = [await flowFor("/resume-first"), await flowFor("/resume-second")];
    expect(second.serverConn.id).not.toBe(first.serverConn.id);
    expect(second.serverConn.certificateList.length).toBeGreaterThanOrEqual(1);
    expect(second.serverConn.certificateList.map(String)).toEqual(first.serverConn.certificateList.map(String));
    expect(second.serverConn.tlsVersion).toBe(first.serverConn.tlsVersion);
    expect(second.serverConn.sni).toBe("localhost");
  });

  it("verifies upstream certificates: an untrusted server is a TLS error flow and a 502", async () => {
    const r = await curl([
      "-x", `http://127.0.0.1:${cap.port}`,
      "--cacert", join(confdir, "reflow-ca-cert.pem"),
      "-o", "/dev/null", "-w", "%{http_code}",
      `https://localhost:${untrusted.port}/untrusted`,
    ]);
    expect(r.stdout.toString()).toBe("502");
    const f = await flowFor("/untrusted");
    expect(f.response).toBeNull();
    expect(f.error!.msg).toMatch(/\(E_UPSTREAM_TLS\)$/);
  });

  it("turns a refused port into an error flow and a 502 with a short text", async () => {
    const r = await curl(["-x", `http://127.0.0.1:${cap.port}`, "-i", "http://127.0.0.1:1/refused"]);
    const text = r.stdout.toString();
    expect(text).toMatch(/^HTTP\/1\.1 502 Bad Gateway\r\n/);
    expect(text).toMatch(/content-type: text\/plain/i);
    expect(text).toMatch(/Connection refused/);
    const f = await flowFor("/refused");
    expect(f.response).toBeNull();
    expect(f.error!.msg).toMatch(/\(E_UPSTREAM_REFUSED\)$/);
    expect(f.serverConn.address).toEqual(["127.0.0.1", 1]);
    expect(f.serverConn.peername).toBeNull();
  });

  it("turns an unresolvable name into an error flow", async () => {
    const r = await curl(["-x", `http://127.0.0.1:${cap.port}`, "-o", "/dev/null", "-w", "%{http_code}", "http://no-such-host.invalid/dns"]);
    expect(r.stdout.toString()).toBe("502");
    expect((await flowFor("/dns")).error!.msg).toMatch(/\(E_UPSTREAM_DNS\)$/);
  });

  it("relays a WebSocket frame by frame and records its messages", async () => {
    const tunnel = await connectTunnel(cap.port, "127.0.0.1", wsPort);
    const ws = new WebSocket(`ws://127.0.0.1:${wsPort}/chat`, { createConnection: () => tunnel } as WebSocket.ClientOptions);
    const got: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on("open", () => {
        ws.send("hello");
        ws.send(Buffer.from([1, 2, 3]), { binary: true });
        ws.send("x".repeat(70000));
        ws.send("bye");
      });
      ws.on("message", (d, isBinary) => got.push(isBinary ? `bin:${[...(d as Buffer)].join(",")}` : (d as Buffer).toString().slice(0, 10)));
      ws.on("close", () => resolve());
      ws.on("error", reject);
    });
    expect(got).toEqual(["hello", "bin:1,2,3", "xxxxxxxxxx"]);
    const f = await flowFor("/chat");
    expect(f.response!.statusCode).toBe(101);
    // the upgrade went over a server connection of the proxy's own, recorded like any other
    expect(f.serverConn.address).toEqual(["127.0.0.1", wsPort]);
    expect(f.serverConn.peername).toEqual(["127.0.0.1", wsPort]);
    expect(f.serverConn.timestampTcpSetup).toBeGreaterThan(0);
    const w = f.websocket!;
    expect(w).not.toBeNull();
    const sent = w.messages.filter((m) => m.fromClient).map((m) => [m.type, m.content.length]);
    const echoed = w.messages.filter((m) => !m.fromClient).map((m) => [m.type, m.content.length]);
    expect(sent).toEqual([[1, 5], [2, 3], [1, 70000], [1, 3]]);
    expect(echoed).toEqual([[1, 5], [2, 3], [1, 70000]]);
    expect(w.messages.every((m) => m.timestamp > 0 && !m.dropped && !m.injected)).toBe(true);
    expect(w.messages[0]!.text).toBe("hello");
    expect(w.closedByClient).toBe(false);
    expect(w.closeCode).toBe(4000);
    expect(w.closeReason).toBe("done here");
    expect(w.timestampEnd).toBeGreaterThan(0);
  });

  it("relays --tcp-hosts targets as raw TCP and records a TCP flow", async () => {
    const echoed = await tcpExchange(cap.port, "127.0.0.1", echo.port, ["ping one\n", "ping two\n"]);
    expect(echoed).toBe("ping one\nping two\n");
    const tcp = (await waitForFlowOfType(out, "tcp")) as TCPFlow | undefined;
    expect(tcp).toBeDefined();
    const msgs = tcp!.messages;
    expect(Buffer.concat(msgs.filter((m) => m.fromClient).map((m) => m.content)).toString()).toBe("ping one\nping two\n");
    expect(Buffer.concat(msgs.filter((m) => !m.fromClient).map((m) => m.content)).toString()).toBe("ping one\nping two\n");
    expect(tcp!.serverConn.address).toEqual(["127.0.0.1", echo.port]);
    expect(tcp!.error).toBeNull();
  });

  it("passes --ignore-hosts tunnels through untouched and unrecorded", async () => {
    // The client sees the origin's own certificate, so it trusts the origin CA, not reflow's.
    const r = await curl(["-x", `http://127.0.0.1:${cap.port}`, "--cacert", tls.certFile, `https://127.0.0.1:${ignored.port}/ignored`]);
    expect(r.stdout.toString()).toBe("ignored origin");
    await sleep(200);
    const flows = await readCapture(out);
    expect(flows.some((f) => f.serverConn.address?.[1] === ignored.port)).toBe(false);
  });

  it("is read by reflow show", () => {
    const r = reflow(["show", out]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(r.stdout.toString()).toContain(`http://127.0.0.1:${origin.port}/raw-headers`);
  });
});

describe("reflow capture: output", () => {
  it("-a appends to an existing file; -w - writes flows to stdout and the log to stderr", async () => {
    const file = join(dir, "append.mitm");
    for (const path of ["/first", "/second"]) {
      const c = await startCapture(["-a", file, "--confdir", confdir, "-q"]);
      await viaProxy(c.port, `http://127.0.0.1:${origin.port}${path}`);
      expect((await c.stop()).code).toBe(0);
    }
    expect((await httpFlows(file)).map((f) => f.request.path)).toEqual(["/first", "/second"]);

    const s = await startCapture(["-w", "-", "--confdir", confdir]);
    await viaProxy(s.port, `http://127.0.0.1:${origin.port}/stdout`);
    await s.stop();
    const piped = join(dir, "stdout.mitm");
    writeFileSync(piped, s.stdoutBytes());
    expect((await httpFlows(piped)).map((f) => f.request.path)).toEqual(["/stdout"]);
    expect(s.stderr()).toContain("GET http://127.0.0.1");
  });

  it("writes only flows matching the positional filter", async () => {
    const file = join(dir, "filtered.mitm");
    const c = await startCapture(["-w", file, "--confdir", confdir, "-q", "~u", "/keep"]);
    await viaProxy(c.port, `http://127.0.0.1:${origin.port}/keep/1`);
    await viaProxy(c.port, `http://127.0.0.1:${origin.port}/drop/1`);
    await c.stop();
    expect((await httpFlows(file)).map((f) => f.request.path)).toEqual(["/keep/1"]);
  });
});

describe("reflow capture: modes", () => {
  it("reverse:URL sends every request to the target and rewrites Host", async () => {
    const file = join(dir, "reverse.mitm");
    const rev = await startCapture(["-m", `reverse:http://127.0.0.1:${origin.port}`, "-w", file, "--confdir", confdir, "-q"]);
    try {
      const r = await curl([`http://127.0.0.1:${rev.port}/rev?x=1`]);
      expect(r.stdout.toString()).toMatch(/^GET \/rev\?x=1 0 /);
    } finally {
      expect((await rev.stop()).code).toBe(0);
    }
    const [f] = await httpFlows(file);
    expect(f!.request.url).toBe(`http://127.0.0.1:${origin.port}/rev?x=1`);
    expect(f!.request.headers.get("host")).toBe(`127.0.0.1:${origin.port}`);
    expect(f!.clientConn.proxyMode).toBe(`reverse:http://127.0.0.1:${origin.port}`);
  });

  it("reverse mode to an HTTPS target, the client speaking TLS to the proxy too", async () => {
    const file = join(dir, "reverse-tls.mitm");
    const rev = await startCapture(["-m", `reverse:https://localhost:${secure.port}`, "-w", file, "--confdir", confdir, "-q"], {
      NODE_EXTRA_CA_CERTS: tls.certFile,
    });
    try {
      const plain = await curl([`http://127.0.0.1:${rev.port}/plain`]);
      expect(plain.stdout.toString()).toBe("secure /plain");
      const r = await curl(["--cacert", join(confdir, "reflow-ca-cert.pem"), "--resolve", `localhost:${rev.port}:127.0.0.1`, `https://localhost:${rev.port}/wrapped`]);
      expect(r.stderr).toBe("");
      expect(r.stdout.toString()).toBe("secure /wrapped");
    } finally {
      await rev.stop();
    }
    const flows = await httpFlows(file);
    expect(flows.map((f) => f.request.url)).toEqual([`https://localhost:${secure.port}/plain`, `https://localhost:${secure.port}/wrapped`]);
    expect(flows[1]!.clientConn.tls).toBe(true);
  });

  it("upstream:URL goes through another proxy (here: a second reflow capture)", async () => {
    const upFile = join(dir, "upstream-peer.mitm");
    const file = join(dir, "upstream.mitm");
    const peer = await startCapture(["-w", upFile, "--confdir", confdir, "-q"], { NODE_EXTRA_CA_CERTS: tls.certFile });
    const up = await startCapture(["-m", `upstream:http://127.0.0.1:${peer.port}`, "-w", file, "--confdir", confdir, "-q"], {
      NODE_EXTRA_CA_CERTS: join(confdir, "reflow-ca-cert.pem"),
    });
    try {
      const r = await curl(["-x", `http://127.0.0.1:${up.port}`, `http://127.0.0.1:${origin.port}/up`]);
      expect(r.stdout.toString()).toMatch(/^GET \/up 0 /);
      const s = await curl(["-x", `http://127.0.0.1:${up.port}`, "--cacert", join(confdir, "reflow-ca-cert.pem"), `https://localhost:${secure.port}/up-tls`]);
      expect(s.stderr).toBe("");
      expect(s.stdout.toString()).toBe("secure /up-tls");
    } finally {
      await up.stop();
      await peer.stop();
    }
    const [plain, tlsFlow] = await httpFlows(file);
    expect(plain!.request.url).toBe(`http://127.0.0.1:${origin.port}/up`);
    expect(plain!.request.authority).toBe(`127.0.0.1:${origin.port}`);
    expect(plain!.serverConn.via).toEqual(["http", ["127.0.0.1", peer.port]]);
    expect(plain!.serverConn.address).toEqual(["127.0.0.1", origin.port]);
    expect(plain!.serverConn.peername).toEqual(["127.0.0.1", peer.port]);
    expect(tlsFlow!.request.url).toBe(`https://localhost:${secure.port}/up-tls`);
    expect(tlsFlow!.serverConn.via).toEqual(["http", ["127.0.0.1", peer.port]]);
    // the peer saw both: the plain request in absolute form, the TLS one through CONNECT
    expect((await httpFlows(upFile)).map((f) => f.request.url)).toEqual([
      `http://127.0.0.1:${origin.port}/up`,
      `https://localhost:${secure.port}/up-tls`,
    ]);
  });
});
