/**
 * A live capture written with --flow-version 17 loads in Debian's mitmdump 8.1.1 with one
 * flow per exchange (HTTP, HTTPS, an error flow, a WebSocket, a TCP flow); reflow show and
 * reflow diff read it too. Skipped where mitmdump is missing, required in CI.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import {
  type Listening,
  connectTunnel,
  curl,
  httpOrigin,
  httpsOrigin,
  killStrayCaptures,
  originCa,
  sleep,
  startCapture,
  tcpEcho,
  tempDir,
  waitForFlowOfType,
  waitForHttpFlow,
} from "../proxy/capture-harness.js";
import { hasMitmdump, reflow } from "../helpers.js";

const mitmdump = hasMitmdump();
const dir = tempDir();
const confdir = join(dir, "conf");
const out = join(dir, "v17.mitm");
let origin: Listening<import("node:http").Server>;
let secure: Listening<import("node:http").Server>;
let echo: Listening<import("node:net").Server>;
let wss: WebSocketServer;

describe.skipIf(!mitmdump)("reflow capture --flow-version 17 → mitmdump 8.1.1", () => {
  beforeAll(async () => {
    origin = await httpOrigin((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`hi ${req.url}`);
    });
    const tls = await originCa();
    secure = await httpsOrigin(tls.ca, (req, res) => res.end(`secure ${req.url}`));
    echo = await tcpEcho();
    wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((r) => wss.once("listening", r));
    wss.on("connection", (ws) => ws.on("message", (d) => (d.toString() === "bye" ? ws.close(1000) : ws.send(d))));
    const wsPort = (wss.address() as import("node:net").AddressInfo).port;

    const cap = await startCapture(["-w", out, "--flow-version", "17", "--confdir", confdir, "-q", "--tcp-hosts", `:${echo.port}$`], {
      NODE_EXTRA_CA_CERTS: tls.certFile,
    });
    try {
      const proxy = ["-x", `http://127.0.0.1:${cap.port}`];
      expect((await curl([...proxy, `http://127.0.0.1:${origin.port}/one`])).stdout.toString()).toBe("hi /one");
      expect((await curl([...proxy, "-d", "a=1", `http://127.0.0.1:${origin.port}/two`])).stdout.toString()).toBe("hi /two");
      const s = await curl([...proxy, "--cacert", join(confdir, "reflow-ca-cert.pem"), `https://localhost:${secure.port}/three`]);
      expect(s.stdout.toString()).toBe("secure /three");
      await curl([...proxy, "http://127.0.0.1:1/four"]);
      const tunnel = await connectTunnel(cap.port, "127.0.0.1", wsPort);
      const ws = new WebSocket(`ws://127.0.0.1:${wsPort}/five`, { createConnection: () => tunnel } as WebSocket.ClientOptions);
      await new Promise<void>((resolve) => {
        ws.on("open", () => (ws.send("hello"), ws.send("bye")));
        ws.on("close", () => resolve());
      });
      const t = await connectTunnel(cap.port, "127.0.0.1", echo.port);
      t.write("tcp bytes");
      await sleep(100);
      t.end();
      await new Promise((r) => t.once("close", r));
      // the WebSocket and TCP flows are written when they close: wait for them before the signal
      await waitForHttpFlow(out, "/five");
      expect(await waitForFlowOfType(out, "tcp"), "the TCP flow").toBeDefined();
    } finally {
      expect((await cap.stop()).code).toBe(0);
    }
  });

  afterAll(async () => {
    await Promise.all([origin?.close(), secure?.close(), echo?.close()]);
    wss?.close();
    killStrayCaptures();
  });

  it("loads in mitmdump with one flow per exchange", () => {
    const script = join(dir, "list.py");
    writeFileSync(
      script,
      [
        "from mitmproxy import io",
        "import sys",
        "with open(sys.argv[1], 'rb') as f:",
        "    for fl in io.FlowReader(f).stream():",
        "        if fl.type == 'http':",
        "            ws = len(fl.websocket.messages) if fl.websocket else 0",
        "            print('http', fl.request.pretty_url, fl.response.status_code if fl.response else None, 'error' if fl.error else '', ws)",
        "        else:",
        "            print(fl.type, len(fl.messages), 'error' if fl.error else '')",
      ].join("\n"),
    );
    const py = spawnSync("/usr/bin/python3", [script, out], { encoding: "utf8" });
    expect(py.status, py.stderr).toBe(0);
    const lines = py.stdout.trim().split("\n").map((l) => l.trim());
    expect(lines).toHaveLength(6);
    expect(lines).toEqual(
      expect.arrayContaining([
        `http http://127.0.0.1:${origin.port}/one 200  0`,
        `http http://127.0.0.1:${origin.port}/two 200  0`,
        `http https://localhost:${secure.port}/three 200  0`,
        "http http://127.0.0.1:1/four None error 0",
        expect.stringMatching(/^http http:\/\/127\.0\.0\.1:\d+\/five 101 {2}3$/),
        expect.stringMatching(/^tcp [1-9]\d*$/),
      ]),
    );
  });

  it("mitmdump -nr reads it without complaint and writes the same flows back", () => {
    const back = join(dir, "back.mitm");
    const r = spawnSync("mitmdump", ["-q", "-nr", out, "-w", back], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/corrupt|error|Traceback/i);
    const d = reflow(["diff", out, back, "--stat"]);
    expect([0, 1]).toContain(d.status); // diff reads both (mitmdump moves nothing here, but may re-save fields)
  });

  it("reflow show and reflow diff read it", () => {
    const show = reflow(["show", out]);
    expect(show.status, show.stderr.toString()).toBe(0);
    expect(show.stdout.toString()).toContain(`/one`);
    const diff = reflow(["diff", out, out]);
    expect(diff.status, diff.stderr.toString()).toBe(0);
  });
});
