/**
 * Server replay next to Debian's mitmdump 8.1.1: a recording mitmdump makes (reverse mode,
 * from a local origin then stopped) is replayed by `mitmdump -S` and by `reflow replay`, and
 * the same requests get the same answers from both: recorded answers in order for repeated
 * requests, query parameters told apart by order, bodies part of the key, and extras
 * forwarded (to the stopped origin, which drops every connection, so 502). Skipped where mitmdump is missing, required in CI.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { Agent } from "node:http";
import { connect as netConnect, createServer as createNetServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClientResponse, httpOrigin, killStrayCaptures, sleep, startProxyCommand, tempDir, viaProxy } from "../proxy/capture-harness.js";
import { hasMitmdump } from "../helpers.js";

const mitmdump = hasMitmdump();
const dir = tempDir("reflow-replay-interop-");
const rec = join(dir, "mitmdump.mitm");
let originPort = 0;
let originGone = false;
let closeOrigin = async (): Promise<void> => {};
const children = new Set<ChildProcess>();

/** The requests, in order: each is sent once while recording, then again (with extras) when replaying. */
type Ask = [method: string, path: string, body?: string];
const RECORDED: Ask[] = [
  ["GET", "/items?page=1&sort=asc"],
  ["GET", "/items?sort=asc&page=1"],
  ["GET", "/counter"],
  ["GET", "/counter"],
  ["GET", "/counter"],
  ["POST", "/search", '{"q":1}'],
  ["POST", "/search", '{"q":2}'],
];
const REPLAYED: Ask[] = [
  ...RECORDED,
  ["GET", "/counter"], // its answers ran out
  ["GET", "/items?page=1&sort=asc"],
  ["POST", "/search", '{"q":3}'],
  ["GET", "/never"],
];

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createNetServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = netConnect(port, "127.0.0.1", () => (s.destroy(), r(true)));
      s.on("error", () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`mitmdump never listened on ${port}`);
}

/** Runs mitmdump with ARGS on a free port until `stop`. */
async function startMitmdump(args: string[]): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const p = spawn("mitmdump", ["-q", "--listen-host", "127.0.0.1", "-p", String(port), "--set", `confdir=${join(dir, "mitmproxy")}`, ...args], {
    stdio: "ignore",
  });
  children.add(p);
  await waitForPort(port);
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        p.once("exit", () => (children.delete(p), resolve()));
        p.kill("SIGINT");
      }),
  };
}

/** A connection per request: mitmdump closes its client connection after a failed forward. */
const oneShot = new Agent({ keepAlive: false });
const send = (port: number, [method, path, body]: Ask): Promise<ClientResponse> =>
  viaProxy(port, path, { method, headers: ["Host", `127.0.0.1:${port}`, "content-type", "application/json"], body, agent: oneShot });

/** What each request got: status and body. */
async function answers(port: number, asks: Ask[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of asks) {
    // A forwarded extra fails at the stopped origin: a 502, or (mitmdump, at times) a closed connection.
    const r = await send(port, a).catch(() => ({ status: 502, body: Buffer.alloc(0) }));
    out.push(`${a[0]} ${a[1]} → ${r.status} ${r.status === 502 ? "" : r.body.toString()}`.trim());
  }
  return out;
}

describe.skipIf(!mitmdump)("server replay: reflow and mitmdump 8.1.1 answer alike", () => {
  beforeAll(async () => {
    let counter = 0;
    const origin = await httpOrigin((req, res) => {
      if (originGone) return void req.socket.destroy();
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const n = req.url === "/counter" ? ++counter : 0;
        res.end(`${req.method} ${req.url} ${Buffer.concat(chunks).toString()} ${n}`);
      });
    });
    originPort = origin.port;
    const recorder = await startMitmdump(["--mode", `reverse:http://127.0.0.1:${originPort}`, "-w", rec]);
    for (const a of RECORDED) expect((await send(recorder.port, a)).status, a.join(" ")).toBe(200);
    await recorder.stop();
    // Stopped: every connection is dropped from now on, but the port stays taken, so that no
    // replay proxy is given it by the OS (it would be its own target).
    originGone = true;
    closeOrigin = () => origin.close();
  }, 60_000);

  afterAll(async () => {
    for (const c of children) c.kill("SIGKILL");
    killStrayCaptures();
    await closeOrigin();
  });

  it("the same requests get the same answers", async () => {
    // Lazy: by default mitmdump connects to the (stopped) origin as each client connects (mitmproxy#5024).
    const peer = await startMitmdump(["--mode", `reverse:http://127.0.0.1:${originPort}`, "-S", rec, "--set", "connection_strategy=lazy"]);
    const theirs = await answers(peer.port, REPLAYED);
    await peer.stop();
    const ours = await startProxyCommand("replay", [rec, "-m", `reverse:http://127.0.0.1:${originPort}`, "--extra", "forward"]);
    const mine = await answers(ours.port, REPLAYED);
    await ours.stop();
    expect(mine).toEqual(theirs);
    expect(mine.filter((a) => a.endsWith("→ 502")).length, "the extras, forwarded to the stopped origin").toBe(4);
  });
});
