/**
 * Failures are flows: clients that go away mid-request or mid-response, servers that
 * reset or are slower than the timeout, many connections at once. The proxy keeps serving,
 * every failure is an error flow, the file holds one flow per exchange; shutdown by signal
 * leaves a complete file, and a hard kill a file that reads up to the last complete flow.
 */
import { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import { Agent, type Server } from "node:http";
import { type AddressInfo, connect, createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFlowRecords } from "../../src/io/flow-source.js";
import type { HTTPFlow } from "../../src/model/index.js";
import {
  type Listening,
  type RunningCapture,
  httpFlows,
  httpOrigin,
  killStrayCaptures,
  sleep,
  startCapture,
  tempDir,
  viaProxy,
} from "./capture-harness.js";

const dir = tempDir();
const confdir = join(dir, "conf");
let origin: Listening<Server>;
// More than loopback socket buffers hold (4 MB send + up to 32 MB receive), so the proxy cannot finish.
const big = Buffer.alloc(64 * 1024 * 1024, "b");

/** Paths the origin has been asked for: what a test waits on before it signals, never a sleep. */
const originSeen = new Set<string>();
const originRequests = new EventEmitter();
function originGot(path: string): Promise<void> {
  if (originSeen.has(path)) return Promise.resolve();
  return new Promise((resolve) => {
    const onRequest = (p: string): void => {
      if (p !== path) return;
      originRequests.off("request", onRequest);
      resolve();
    };
    originRequests.on("request", onRequest);
  });
}

beforeAll(async () => {
  origin = await httpOrigin((req, res) => {
    req.resume();
    const path = req.url ?? "";
    originSeen.add(path);
    originRequests.emit("request", path);
    if (path.startsWith("/slow-body")) {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "20" });
      res.write("first half");
      const t = setTimeout(() => res.end("secondhalf"), 1500);
      res.on("close", () => clearTimeout(t));
      return;
    }
    if (path.startsWith("/big")) {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": String(big.length) });
      return res.end(big);
    }
    if (path.startsWith("/reset-mid-body")) {
      res.writeHead(200, { "content-type": "text/plain", "content-length": "100" });
      res.write("only part of it");
      return setTimeout(() => req.socket.destroy(), 50);
    }
    if (path.startsWith("/reset-at-once")) return req.socket.destroy();
    if (path.startsWith("/hang")) {
      const t = setTimeout(() => res.end("late"), 3000);
      res.on("close", () => clearTimeout(t));
      return;
    }
    req.on("end", () => {
      const body = `ok ${path}`;
      res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
  });
});

afterAll(async () => {
  await origin?.close();
  killStrayCaptures();
});

const url = (path: string): string => `http://127.0.0.1:${origin.port}${path}`;

async function waitForPath(file: string, path: string): Promise<HTTPFlow> {
  for (let i = 0; i < 200; i++) {
    const f = (await httpFlows(file).catch(() => [])).find((x) => x.request.path === path);
    if (f) return f;
    await sleep(25);
  }
  throw new Error(`no flow for ${path}`);
}

describe("reflow capture: faults become flows, the proxy keeps serving", () => {
  let cap: RunningCapture;
  const out = join(dir, "faults.mitm");

  beforeAll(async () => {
    cap = await startCapture(["-w", out, "--confdir", confdir, "-q", "--timeout", "0.5"]);
  });
  afterAll(async () => {
    await cap?.stop();
  });

  it("a client that goes away mid-request", async () => {
    const s = connect(cap.port, "127.0.0.1");
    await new Promise((r) => s.once("connect", r));
    s.write(`POST ${url("/abort-request")} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\nContent-Length: 1000\r\n\r\n0123456789`);
    await sleep(100);
    s.destroy();
    const f = await waitForPath(out, "/abort-request");
    expect(f.error!.msg).toMatch(/\(E_CLIENT_GONE\)$/);
    expect(f.request.rawContent).toBeNull();
    expect(f.response).toBeNull();
  });

  it("a client that goes away while the response is on its way", async () => {
    const s = connect(cap.port, "127.0.0.1");
    await new Promise((r) => s.once("connect", r));
    s.write(`GET ${url("/slow-body")} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`);
    await sleep(300);
    s.destroy();
    const f = await waitForPath(out, "/slow-body");
    expect(f.error!.msg).toMatch(/\(E_CLIENT_GONE\)$/);
    expect(f.response!.statusCode).toBe(200);
    expect(f.response!.rawContent).toBeNull();
  });

  it("a client that stops reading a large response and goes away", async () => {
    const s = connect(cap.port, "127.0.0.1");
    await new Promise((r) => s.once("connect", r));
    s.write(`GET ${url("/big")} HTTP/1.1\r\nHost: 127.0.0.1:${origin.port}\r\n\r\n`);
    await new Promise<void>((r) => s.once("data", () => r()));
    s.pause();
    await sleep(100);
    s.destroy();
    const f = await waitForPath(out, "/big");
    expect(f.error!.msg).toMatch(/\(E_CLIENT_GONE\)$/);
    expect(f.response!.rawContent!.length).toBe(big.length);
  });

  it("a server that resets mid-body: an error flow and a 502", async () => {
    const r = await viaProxy(cap.port, url("/reset-mid-body"));
    expect(r.status).toBe(502);
    expect(r.body.toString()).toMatch(/^reflow: /);
    const f = await waitForPath(out, "/reset-mid-body");
    expect(f.error!.msg).toMatch(/\(E_UPSTREAM_RESET\)$/);
    expect(f.response!.rawContent).toBeNull();
  });

  it("a server that resets before answering", async () => {
    const r = await viaProxy(cap.port, url("/reset-at-once"));
    expect(r.status).toBe(502);
    const f = await waitForPath(out, "/reset-at-once");
    expect(f.error!.msg).toMatch(/\(E_UPSTREAM_RESET\)$/);
    expect(f.response).toBeNull();
  });

  it("a server slower than --timeout", async () => {
    const t0 = Date.now();
    const r = await viaProxy(cap.port, url("/hang"));
    expect(r.status).toBe(502);
    expect(Date.now() - t0).toBeLessThan(2500);
    const f = await waitForPath(out, "/hang");
    expect(f.error!.msg).toMatch(/\(E_UPSTREAM_TIMEOUT\)$/);
  });

  it("a server that speaks unasked on an idle kept-alive connection: that connection is not reused", async () => {
    // Answers each request with the number of its connection, then says something unasked.
    let connections = 0;
    const chatty = createNetServer((s) => {
      const n = ++connections;
      s.on("data", () => {
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nconn ${n}`);
        setTimeout(() => s.write("HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n\r\n"), 20);
      });
      s.on("error", () => {});
    });
    await new Promise<void>((r) => chatty.listen(0, "127.0.0.1", () => r()));
    const base = `http://127.0.0.1:${(chatty.address() as AddressInfo).port}`;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await viaProxy(cap.port, `${base}/chatty-1`, { agent })).body.toString()).toBe("conn 1");
      await sleep(100);
      expect((await viaProxy(cap.port, `${base}/chatty-2`, { agent })).body.toString()).toBe("conn 2");
      const [first, second] = [await waitForPath(out, "/chatty-1"), await waitForPath(out, "/chatty-2")];
      expect(first.clientConn.id).toBe(second.clientConn.id);
      expect(first.serverConn.id).not.toBe(second.serverConn.id);
      expect(second.response?.statusCode).toBe(200);
    } finally {
      agent.destroy();
      chatty.close();
    }
  });

  it("the file holds one flow per exchange, each fault once", async () => {
    expect((await viaProxy(cap.port, url("/after"))).body.toString()).toBe("ok /after"); // still serving
    await waitForPath(out, "/after");
    const paths = (await httpFlows(out)).map((f) => f.request.path);
    expect(new Set(paths).size).toBe(paths.length); // none twice
    for (const p of ["/abort-request", "/slow-body", "/big", "/reset-mid-body", "/reset-at-once", "/hang"]) expect(paths).toContain(p);
  });
});

describe("reflow capture: many connections at once", () => {
  it("500 concurrent connections, then one flow per exchange in the file", async () => {
    const out = join(dir, "many.mitm");
    // Its own proxy with the default --timeout: on a loaded machine 500 connections at once
    // may wait seconds for the origin, and this test is about counts, not timeouts.
    const cap = await startCapture(["-w", out, "--confdir", confdir, "-q"]);
    try {
      const n = 500;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          viaProxy(cap.port, url(`/many/${i}`), { agent: new Agent({ keepAlive: false }) }).catch((e: NodeJS.ErrnoException) => e),
        ),
      );
      const failed = results.flatMap((r, i) => {
        if (r instanceof Error) return [`/many/${i}: ${r.code ?? "no code"} ${r.message}`];
        const body = r.body.toString();
        return r.status === 200 && body === `ok /many/${i}` ? [] : [`/many/${i}: ${r.status} ${JSON.stringify(body.slice(0, 200))}`];
      });
      expect(failed, `${failed.length} of ${n} requests failed`).toEqual([]);
      expect((await viaProxy(cap.port, url("/many/after"))).body.toString()).toBe("ok /many/after"); // still serving
      await waitForPath(out, "/many/after");
      const flows = await httpFlows(out);
      const paths = flows.map((f) => f.request.path);
      expect(new Set(paths).size).toBe(paths.length); // one flow per exchange, none twice
      expect(Array.from({ length: n }, (_, i) => `/many/${i}`).filter((p) => !paths.includes(p)), "requests without a flow").toEqual([]);
      expect(flows.filter((f) => f.error).map((f) => `${f.request.path}: ${f.error!.msg}`), "error flows").toEqual([]);
    } finally {
      await cap.stop();
    }
  });
});

describe("reflow capture: shutdown", () => {
  it("SIGINT with exchanges in flight leaves a complete, valid file; done fires", async () => {
    const out = join(dir, "sigint.mitm");
    const log = join(dir, "done.log");
    const script = join(dir, "done.ts");
    (await import("node:fs")).writeFileSync(
      script,
      `import { appendFileSync } from "node:fs";\nexport function done() { appendFileSync(${JSON.stringify(log)}, "done\\n"); }\n`,
    );
    const cap = await startCapture(["-w", out, "--confdir", confdir, "-q", "--grace", "0.3", "-s", script]);
    for (let i = 0; i < 3; i++) expect((await viaProxy(cap.port, url(`/done/${i}`))).status).toBe(200);
    const inFlight = [0, 1, 2].map((i) => viaProxy(cap.port, url(`/hang/${i}`)).catch((e: Error) => e));
    await Promise.all([0, 1, 2].map((i) => originGot(`/hang/${i}`))); // all three in flight
    const exit = await cap.stop("SIGINT");
    expect(exit.code).toBe(0);
    await Promise.all(inFlight);
    expect(readFileSync(log, "utf8")).toBe("done\n");
    const flows = await httpFlows(out); // throws if the file is damaged
    expect(flows.map((f) => f.request.path).sort()).toEqual(["/done/0", "/done/1", "/done/2", "/hang/0", "/hang/1", "/hang/2"]);
    for (const f of flows.filter((x) => x.request.path.startsWith("/hang"))) expect(f.error!.msg).toMatch(/E_SHUTDOWN/);
  });

  it("SIGTERM does the same", async () => {
    const out = join(dir, "sigterm.mitm");
    const cap = await startCapture(["-w", out, "--confdir", confdir, "-q"]);
    await viaProxy(cap.port, url("/term"));
    expect((await cap.stop("SIGTERM")).code).toBe(0);
    expect((await httpFlows(out)).map((f) => f.request.path)).toEqual(["/term"]);
  });

  it("after SIGKILL the file reads up to the last complete flow", async () => {
    const out = join(dir, "sigkill.mitm");
    const cap = await startCapture(["-w", out, "--confdir", confdir, "-q"]);
    for (let i = 0; i < 10; i++) await viaProxy(cap.port, url(`/k/${i}`));
    await waitForPath(out, "/k/9");
    void viaProxy(cap.port, url("/hang/killed")).catch(() => {});
    await originGot("/hang/killed"); // in flight
    expect((await cap.stop("SIGKILL")).signal).toBe("SIGKILL");
    let count = 0;
    for await (const _ of readFlowRecords(out)) count++;
    expect(count).toBe(10);
  });
});
