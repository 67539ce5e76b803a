/**
 * Headless Chromium through `reflow capture`: a page over HTTP/2 with a stylesheet, a
 * script and an image, whose script opens a wss:// socket and writes what came back into
 * the page. The page's load waits for the socket (the image is held until the socket
 * said "done"), so `--dump-dom` shows the result; every request is in the capture.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { type Http2SecureServer, createSecureServer } from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WebSocketServer } from "ws";
import { httpFlows, killStrayCaptures, originCa, startCapture, tempDir } from "./capture-harness.js";

const CHROMIUM = "/usr/bin/chromium";
const dir = tempDir("reflow-browser-");
const confdir = join(dir, "conf");
const out = join(dir, "browser.mitm");
let origin: Http2SecureServer;
let originCaFile: string;
let port: number;
let release: () => void = () => {};
const socketDone = new Promise<void>((r) => (release = r));

const page = (p: number): string => `<!doctype html>
<html><head><link rel="stylesheet" href="/style.css"><script src="/app.js"></script></head>
<body><div id="out">pending</div><img src="/held.gif"></body></html>`;

const app = (p: number): string => `
addEventListener("DOMContentLoaded", () => {
  const out = document.getElementById("out");
  const ws = new WebSocket("wss://localhost:${p}/socket");
  ws.onopen = () => ws.send("hello from the page");
  ws.onmessage = (e) => { out.textContent = "ws:" + e.data; ws.send("done"); };
  ws.onerror = () => { out.textContent = "ws failed"; fetch("/give-up"); };
});`;

// A 1x1 transparent GIF.
const GIF = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");

beforeAll(async () => {
  const tls = await originCa();
  originCaFile = tls.certFile;
  const leaf = await tls.ca.leaf("localhost");
  origin = createSecureServer({ key: leaf.keyPem, cert: leaf.pem, allowHTTP1: true }, (req, res) => {
    const url = req.url ?? "/";
    if (url === "/") return res.writeHead(200, { "content-type": "text/html" }).end(page(port));
    if (url === "/style.css") return res.writeHead(200, { "content-type": "text/css" }).end("#out { color: green }");
    if (url === "/app.js") return res.writeHead(200, { "content-type": "text/javascript" }).end(app(port));
    if (url === "/give-up") {
      release();
      return res.end("ok");
    }
    if (url === "/held.gif") return void socketDone.then(() => res.writeHead(200, { "content-type": "image/gif" }).end(GIF));
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ noServer: true });
  origin.on("upgrade", (req, socket, head) =>
    wss.handleUpgrade(req, socket, head, (ws) =>
      ws.on("message", (d) => {
        if (d.toString() === "done") return release();
        ws.send(`echo ${d.toString()}`);
      }),
    ),
  );
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  port = (origin.address() as AddressInfo).port;
});

afterAll(() => {
  release();
  origin?.close();
  killStrayCaptures();
});

describe.skipIf(!existsSync(CHROMIUM))("headless Chromium through reflow capture", () => {
  it("loads a page over HTTP/2 with its sub-resources and a wss:// socket; every request recorded", async () => {
    const cap = await startCapture(["-w", out, "--confdir", confdir, "-q"], { NODE_EXTRA_CA_CERTS: originCaFile });
    let dom: string;
    try {
      dom = await new Promise<string>((resolve, reject) =>
        execFile(
          CHROMIUM,
          [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            `--user-data-dir=${mkdtempSync(join(tmpdir(), "reflow-chromium-"))}`,
            `--proxy-server=http://127.0.0.1:${cap.port}`,
            // Chromium sends localhost direct unless told otherwise.
            "--proxy-bypass-list=<-loopback>",
            "--ignore-certificate-errors",
            "--dump-dom",
            `https://localhost:${port}/`,
          ],
          { timeout: 60_000 },
          (err, stdout, stderr) => (err && !stdout ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
        ),
      );
    } finally {
      await cap.stop();
    }
    expect(dom).toContain(">ws:echo hello from the page<");
    const flows = await httpFlows(out);
    const byPath = new Map(flows.map((f) => [f.request.path, f]));
    for (const p of ["/", "/style.css", "/app.js", "/held.gif", "/socket"]) expect(byPath.has(p), `a flow for ${p}`).toBe(true);
    expect(byPath.get("/")!.request.httpVersion).toBe("HTTP/2.0");
    expect(byPath.get("/")!.response!.statusCode).toBe(200);
    const socket = byPath.get("/socket")!;
    expect(socket.response!.statusCode).toBe(101);
    expect(socket.websocket!.messages.map((m) => m.text)).toEqual(["hello from the page", "echo hello from the page", "done"]);
  }, 90_000);
});
