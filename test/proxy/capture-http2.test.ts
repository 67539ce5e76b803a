/**
 * HTTP/2 through `reflow capture` on both sides, as mitmproxy does it: the server is asked
 * first with the client's ALPN offers and its choice is mirrored to the client; the two
 * sides are translated where they differ. Real clients: curl, Python httpx (http2=True),
 * openssl s_client, and an h2-only Node client. Flows are recorded as mitmproxy records them.
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { type Http2SecureServer, constants, connect as http2Connect, createSecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { ProxyAgent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HTTPFlow } from "../../src/model/index.js";
import {
  type Listening,
  type RunningCapture,
  captureDirs,
  connectTunnel,
  curl,
  httpFlows,
  httpOrigin,
  httpsOrigin,
  killStrayCaptures,
  originCa,
  startCapture,
  startUpstreamChain,
} from "./capture-harness.js";

const dirs = captureDirs("reflow-h2-");
const { dir, confdir, proxyCa } = dirs;
const out = join(dir, "h2.mitm");

let tls: Awaited<ReturnType<typeof originCa>>;
let h2: Http2SecureServer;
let h2Port: number;
let h1: Listening<import("node:http").Server>;
let plain: Listening<import("node:http").Server>;
let cap: RunningCapture;

const streamScript = `
import type { HTTPFlow, ScriptContext } from "reflow";
export function responseheaders(ctx: ScriptContext, flow: HTTPFlow) {
  if (flow.request.path === "/stream") flow.response!.stream = true;
}
`;

beforeAll(async () => {
  tls = await originCa();
  const leaf = await tls.ca.leaf("localhost");
  h2 = createSecureServer({ key: leaf.keyPem, cert: leaf.pem, allowHTTP1: true }, (req, res) => {
    if (req.url === "/reset") return void req.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    if (req.url === "/slow") return void setTimeout(() => res.end("late"), 500);
    let n = 0;
    req.on("data", (c: Buffer) => (n += c.length));
    req.on("end", () => {
      res.setHeader("content-type", "text/plain");
      res.setHeader("x-origin-saw", req.httpVersion);
      if (req.httpVersion === "2.0") res.addTrailers({ "x-checksum": "abc" });
      res.end(`${req.method} ${req.url} ${req.httpVersion} ${n}`);
    });
  });
  await new Promise<void>((r) => h2.listen(0, "127.0.0.1", r));
  h2Port = (h2.address() as AddressInfo).port;
  h1 = await httpsOrigin(tls.ca, (req, res) => {
    req.resume();
    req.on("end", () => res.end(`${req.method} ${req.url} ${req.httpVersion} h1-only`));
  });
  plain = await httpOrigin((req, res) => {
    req.resume();
    req.on("end", () => res.end(`${req.method} ${req.url} ${req.httpVersion} ${JSON.stringify(req.headers.upgrade ?? null)}`));
  });
  const script = join(dir, "stream.ts");
  writeFileSync(script, streamScript);
  cap = await startCapture(["-w", out, "--confdir", confdir, "-s", script, "-q"], { NODE_EXTRA_CA_CERTS: tls.certFile });
});

afterAll(async () => {
  await cap?.stop();
  h2?.close();
  await h1?.close();
  await plain?.close();
  killStrayCaptures();
});

/** The recorded flow for `path` once the capture wrote it. */
async function flowFor(path: string): Promise<HTTPFlow> {
  for (let i = 0; i < 200; i++) {
    const f = (await httpFlows(out).catch(() => [])).filter((x) => x.request.path === path).pop();
    if (f) return f;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no flow for ${path}`);
}

const names = (f: HTTPFlow, side: "request" | "response"): string[] => [...f[side]!.headers.fields].map(([n]) => n.toString("latin1"));

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(cmd, args, { timeout: 20_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) }),
    ),
  );
}

describe("reflow capture: HTTP/2", () => {
  it("curl --http2 to an h2 origin: h2 on both sides, recorded as HTTP/2.0 with authority and trailers", async () => {
    const r = await curl(["--http2", "-x", `http://127.0.0.1:${cap.port}`, "--cacert", proxyCa, "-d", "abc", "-w", "\n%{http_version}", `https://localhost:${h2Port}/curl-h2`]);
    expect(r.stderr).toBe("");
    expect(r.stdout.toString()).toBe("POST /curl-h2 2.0 3\n2");
    const f = await flowFor("/curl-h2");
    expect(f.request.httpVersion).toBe("HTTP/2.0");
    expect(f.request.authority).toBe(`localhost:${h2Port}`);
    expect(names(f, "request").some((n) => n.startsWith(":")), "pseudo-headers in the request list").toBe(false);
    expect(f.response!.httpVersion).toBe("HTTP/2.0");
    expect(f.response!.reason).toBe("");
    expect(names(f, "response").some((n) => n.startsWith(":"))).toBe(false);
    expect(f.response!.trailers?.get("x-checksum")).toBe("abc");
    expect(f.response!.text).toBe("POST /curl-h2 2.0 3");
    expect(f.clientConn.alpn?.toString()).toBe("h2");
    expect(f.serverConn.alpn?.toString()).toBe("h2");
  });

  it("curl --http1.1 to the same origin stays HTTP/1.1 on both sides", async () => {
    const r = await curl(["--http1.1", "-x", `http://127.0.0.1:${cap.port}`, "--cacert", proxyCa, `https://localhost:${h2Port}/curl-h1`]);
    expect(r.stdout.toString()).toBe("GET /curl-h1 1.1 0");
    const f = await flowFor("/curl-h1");
    expect(f.request.httpVersion).toBe("HTTP/1.1");
    expect(f.response!.httpVersion).toBe("HTTP/1.1");
  });

  it("curl --http2 to an HTTP/1.1-only origin: the client is answered with http/1.1, as the server chose", async () => {
    const r = await curl(["--http2", "-x", `http://127.0.0.1:${cap.port}`, "--cacert", proxyCa, "-w", "\n%{http_version}", `https://localhost:${h1.port}/curl-fallback`]);
    expect(r.stdout.toString()).toBe("GET /curl-fallback 1.1 h1-only\n1.1");
    const f = await flowFor("/curl-fallback");
    expect(f.clientConn.alpn?.toString()).toBe("http/1.1");
    expect(f.request.httpVersion).toBe("HTTP/1.1");
  });

  it("an h2-only client (ALPN h2 alone) to an HTTP/1.1-only origin is translated, not dropped", async () => {
    const tunnel = await connectTunnel(cap.port, "localhost", h1.port);
    const session = http2Connect(`https://localhost:${h1.port}`, {
      createConnection: () => tlsConnect({ socket: tunnel, servername: "localhost", ca: readFileSync(proxyCa), ALPNProtocols: ["h2"] }),
    });
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = session.request({ ":path": "/grpc-like", ":method": "POST", "content-type": "application/grpc", te: "trailers" });
      let status = 0;
      let body = "";
      req.on("response", (h) => (status = Number(h[":status"])));
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => resolve({ status, body }));
      req.on("error", reject);
      req.end("payload");
    });
    session.close();
    expect(status).toBe(200);
    expect(body).toBe("POST /grpc-like 1.1 h1-only");
    const f = await flowFor("/grpc-like");
    expect(f.request.httpVersion).toBe("HTTP/2.0");
    expect(f.request.text).toBe("payload");
    expect(f.response!.httpVersion).toBe("HTTP/1.1");
    expect(f.clientConn.alpn?.toString()).toBe("h2");
  });

  it("openssl s_client -alpn h2 is answered h2", async () => {
    const r = await run("sh", [
      "-c",
      `echo | openssl s_client -alpn h2 -proxy 127.0.0.1:${cap.port} -connect localhost:${h2Port} -servername localhost -CAfile ${proxyCa}`,
    ]);
    expect(r.stdout).toMatch(/ALPN protocol: h2/);
    expect(r.stdout).toMatch(/Verify return code: 0 \(ok\)/);
  });

  it("Python httpx with http2=True", async () => {
    const script = `
import sys, httpx
with httpx.Client(http2=True, proxies=sys.argv[1], verify=sys.argv[2]) as c:
    r = c.post(sys.argv[3], content=b"from httpx")
    print(r.http_version, r.status_code, r.text)
`;
    const r = await run("/usr/bin/python3", ["-c", script, `http://127.0.0.1:${cap.port}`, proxyCa, `https://localhost:${h2Port}/httpx`]);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("HTTP/2 200 POST /httpx 2.0 10");
    const f = await flowFor("/httpx");
    expect(f.request.httpVersion).toBe("HTTP/2.0");
    expect(f.request.text).toBe("from httpx");
  });

  it("a stream the origin resets is an error flow; the client's connection goes on", async () => {
    const r = await curl(["--http2", "-x", `http://127.0.0.1:${cap.port}`, "--cacert", proxyCa, `https://localhost:${h2Port}/reset`, `https://localhost:${h2Port}/after-reset`]);
    expect(r.stdout.toString()).toMatch(/GET \/after-reset 2\.0 0$/);
    const f = await flowFor("/reset");
    expect(f.error?.msg).toMatch(/E_UPSTREAM_RESET/);
  });

  it("flow.response.stream works over HTTP/2", async () => {
    const r = await curl(["--http2", "-x", `http://127.0.0.1:${cap.port}`, "--cacert", proxyCa, `https://localhost:${h2Port}/stream`]);
    expect(r.stdout.toString()).toBe("GET /stream 2.0 0");
    const f = await flowFor("/stream");
    expect(f.response!.statusCode).toBe(200);
    expect(f.response!.rawContent).toBeNull();
  });

  it("Upgrade: h2c (curl --http2 on http://) and unknown upgrades are stripped and relayed as HTTP/1.1, recorded", async () => {
    const r = await curl(["--http2", "-x", `http://127.0.0.1:${cap.port}`, "-d", "xy", "-w", "\n%{http_version}", `http://127.0.0.1:${plain.port}/h2c`]);
    expect(r.stdout.toString()).toBe("POST /h2c 1.1 null\n1.1");
    const f = await flowFor("/h2c");
    expect(f.request.httpVersion).toBe("HTTP/1.1");
    expect(f.request.text).toBe("xy");
    expect(names(f, "request").map((n) => n.toLowerCase())).not.toContain("upgrade");
    expect(names(f, "request").map((n) => n.toLowerCase())).not.toContain("http2-settings");
    const u = await curl(["-x", `http://127.0.0.1:${cap.port}`, "-H", "Upgrade: foo/1", "-H", "Connection: Upgrade", `http://127.0.0.1:${plain.port}/foo`]);
    expect(u.stdout.toString()).toBe("GET /foo 1.1 null");
    expect((await flowFor("/foo")).response!.statusCode).toBe(200);
  });

  it("Node fetch through undici's ProxyAgent (CONNECT, then HTTP/1.1 inside)", async () => {
    const agent = new ProxyAgent({ uri: `http://127.0.0.1:${cap.port}`, requestTls: { ca: readFileSync(proxyCa), servername: "localhost" } });
    try {
      const r = await undiciFetch(`https://localhost:${h2Port}/node-fetch`, { method: "POST", body: "from fetch", dispatcher: agent });
      expect(r.status).toBe(200);
      expect(await r.text()).toBe("POST /node-fetch 1.1 10");
    } finally {
      await agent.close();
    }
    const f = await flowFor("/node-fetch");
    expect(f.request.text).toBe("from fetch");
    expect(f.response!.statusCode).toBe(200);
  });

  it("curl --http2-prior-knowledge to reverse mode: h2 without TLS from the client, recorded as HTTP/2.0", async () => {
    const file = join(dir, "prior.mitm");
    const rev = await startCapture(["-m", `reverse:http://127.0.0.1:${plain.port}`, "-w", file, "--confdir", confdir, "-q"]);
    try {
      const r = await curl(["--http2-prior-knowledge", "-w", "\n%{http_version}", `http://127.0.0.1:${rev.port}/prior`]);
      expect(r.stderr).toBe("");
      expect(r.stdout.toString()).toBe("GET /prior 1.1 null\n2");
    } finally {
      await rev.stop();
    }
    const [f] = await httpFlows(file);
    expect(f!.request.httpVersion).toBe("HTTP/2.0");
    expect(f!.request.authority).toBe(`127.0.0.1:${plain.port}`);
    expect(f!.response!.httpVersion).toBe("HTTP/1.1");
  });

  it("h2 both ways with a Node client: trailers reach the client; a stream the client resets is an error flow", async () => {
    const tunnel = await connectTunnel(cap.port, "localhost", h2Port);
    const session = http2Connect(`https://localhost:${h2Port}`, {
      createConnection: () => tlsConnect({ socket: tunnel, servername: "localhost", ca: readFileSync(proxyCa), ALPNProtocols: ["h2", "http/1.1"] }),
    });
    try {
      const trailers = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const req = session.request({ ":path": "/with-trailers" });
        req.on("trailers", (t) => resolve(t));
        req.on("end", () => reject(new Error("the response ended without trailers")));
        req.on("error", reject);
        req.resume();
        req.end();
      });
      expect(trailers["x-checksum"]).toBe("abc");
      const cancelled = session.request({ ":path": "/slow" });
      cancelled.on("error", () => {});
      cancelled.end();
      await new Promise((r) => setTimeout(r, 100));
      cancelled.close(constants.NGHTTP2_CANCEL);
      const f = await flowFor("/slow");
      expect(f.error?.msg ?? `no error; response ${f.response?.statusCode}`).toMatch(/E_CLIENT_GONE/);
    } finally {
      session.close();
    }
  });

  it("upstream mode: h2 through the upstream proxy's CONNECT, both proxies recording HTTP/2.0", async () => {
    const { peer, up, peerFile, file, stop } = await startUpstreamChain(dirs, tls.certFile, "h2-upstream");
    try {
      const r = await curl(["--http2", "-x", `http://127.0.0.1:${up.port}`, "--cacert", proxyCa, "-w", "\n%{http_version}", `https://localhost:${h2Port}/up-h2`]);
      expect(r.stdout.toString()).toBe("GET /up-h2 2.0 0\n2");
    } finally {
      await stop();
    }
    const [f] = await httpFlows(file);
    expect(f!.request.httpVersion).toBe("HTTP/2.0");
    expect(f!.serverConn.via).toEqual(["http", ["127.0.0.1", peer.port]]);
    const [p] = await httpFlows(peerFile);
    expect(p!.request.httpVersion).toBe("HTTP/2.0");
    expect(p!.request.path).toBe("/up-h2");
  });
});
