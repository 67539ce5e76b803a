/**
 * A hostile origin cannot drive the terminal of whoever watches a capture: its status line,
 * headers and body hold ESC sequences (OSC title, OSC 52 clipboard, clear screen), C1
 * controls and bidi overrides, and none of them reaches the live log raw at any --detail,
 * nor `show`'s listing of the flows written. Runs the live composition in this process
 * (proxy → LiveCapture → CaptureOutput), then the built `reflow show` on its file.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { type AddressInfo, type Socket, connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CaptureOutput } from "../../src/capture/capture-output.js";
import { LiveCapture } from "../../src/capture/live-capture.js";
import { Pipeline } from "../../src/pipeline/pipeline.js";
import { parseProxyMode } from "../../src/proxy/proxy-mode.js";
import { ProxyServer } from "../../src/proxy/proxy-server.js";
import { cliPath, reflow } from "../helpers.js";
import { startCapture } from "../proxy/capture-harness.js";

const OSC_TITLE = "\x1b]0;pwned-title\x07";
const OSC_CLIPBOARD = "\x1b]52;c;cHduZWQ=\x07";
const CLEAR = "\x1b[2J";
const BIDI = "\u202eexe.txt\u2066iso\u2069";
const C1_CSI = "\u009b31m";

const BODY = `first ${CLEAR}${OSC_TITLE} line\n${BIDI} ${C1_CSI} second\n${OSC_CLIPBOARD}\n`;
const RESPONSE = Buffer.concat([
  Buffer.from(
    `HTTP/1.1 200 OK${OSC_TITLE}\r\n` +
      `X-Title: ${OSC_TITLE}\r\n` +
      `X-Clip: ${OSC_CLIPBOARD}\r\n` +
      `X-Bidi: ${BIDI}\r\n` +
      `Content-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(BODY)}\r\n\r\n`,
    "utf8",
  ),
  Buffer.from(BODY, "utf8"),
]);

/** Anything that may not reach a terminal raw (newline and tab are layout). */
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
/** The colour codes the listing paints itself: the only ESC allowed in coloured output. */
const OWN_SGR = /\x1b\[[0-9;]*m/g;

function rawIn(text: string): string | undefined {
  const m = RAW.exec(text.replace(OWN_SGR, ""));
  return m ? `U+${m[0].codePointAt(0)!.toString(16).padStart(4, "0")} at ${JSON.stringify(text.slice(Math.max(0, m.index - 20), m.index + 20))}` : undefined;
}

let dir: string;
let origin: ReturnType<typeof createServer>;
let originPort: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "reflow-terminal-"));
  origin = createServer((socket: Socket) => {
    let got = "";
    socket.on("data", (d) => {
      got += d.toString("latin1");
      if (got.includes("\r\n\r\n")) socket.end(RESPONSE);
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  originPort = (origin.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((r) => origin.close(() => r())));

/** One request through a live capture at `detail`; resolves with the log text and the file written. */
async function captureAt(detail: 0 | 1 | 2 | 3 | 4, colour: boolean): Promise<{ log: string; file: string }> {
  const file = join(dir, `d${detail}${colour ? "c" : ""}.mitm`);
  let log = "";
  const pipeline = new Pipeline({ print: (t) => (log += t) });
  const output = await CaptureOutput.open({
    path: file,
    append: false,
    version: 21,
    filter: null,
    detail,
    colour,
    log: (text) => (log += text),
    onWriteError: (e) => {
      throw e;
    },
    onLeftOut: (m) => {
      throw new Error(m);
    },
  });
  const capture = new LiveCapture(pipeline, output);
  let finished!: () => void;
  const done = new Promise<void>((r) => (finished = r));
  const exchangeDone = capture.exchangeDone.bind(capture);
  capture.exchangeDone = async (ex) => {
    await exchangeDone(ex);
    finished();
  };
  const proxy = new ProxyServer(
    {
      host: "127.0.0.1",
      port: 0,
      mode: parseProxyMode(`reverse:http://127.0.0.1:${originPort}`),
      ca: null,
      insecure: false,
      timeoutMs: 10_000,
      tcpHosts: null,
      ignoreHosts: null,
      onInternalError: (e) => {
        log += `internal error: ${String(e)}`;
      },
    },
    capture,
  );
  const { port } = await proxy.listen();
  const answer = await new Promise<string>((resolve, reject) => {
    const client = connect(port, "127.0.0.1", () =>
      client.write(`GET /page?q=${encodeURIComponent(BIDI)} HTTP/1.1\r\nHost: example.test\r\nX-Req: ${BIDI}\r\nConnection: close\r\n\r\n`),
    );
    let got = "";
    client.on("data", (d) => (got += d.toString("latin1")));
    client.on("end", () => resolve(got));
    client.on("error", reject);
  });
  // Node will not send a reason phrase holding controls on: the client gets a 502, the flow keeps what the origin sent
  expect(answer, "the client got an answer").toMatch(/^HTTP\/1\.1 /);
  await done;
  await proxy.stopAccepting();
  capture.stop();
  proxy.destroyAll();
  await output.close();
  return { log, file };
}

describe("no byte from the network reaches a terminal raw", () => {
  for (const detail of [0, 1, 2, 3, 4] as const) {
    it(`in the live log and in show, at --detail ${detail}`, async () => {
      for (const colour of [false, true]) {
        const { log, file } = await captureAt(detail, colour);
        expect(rawIn(log), `live log at detail ${detail}${colour ? " in colour" : ""}`).toBeUndefined();
        if (detail >= 1) expect(log, "the origin's status line, escaped").toContain("OK\\x1b]0;pwned-title\\x07");
        if (detail >= 2) expect(log, "the title header, escaped").toContain("\\x1b]0;pwned-title\\x07");
        if (detail >= 3) expect(log, "the body's bidi override, escaped").toContain("\\u202eexe.txt");
        const shown = reflow(["show", file, "--detail", String(detail)]);
        expect(shown.status, shown.stderr.toString()).toBe(0);
        expect(rawIn(shown.stdout.toString()), `show --detail ${detail}`).toBeUndefined();
        if (detail >= 2) expect(shown.stdout.toString()).toContain("\\x1b]52;c;cHduZWQ=\\x07");
      }
    });
  }

  it("nor in show's coloured listing", () => {
    const file = join(dir, "d4.mitm");
    expect(readFileSync(file).length).toBeGreaterThan(0);
    const r = spawnSync(process.execPath, [cliPath, "show", file, "--detail", "4"], { env: { ...process.env, FORCE_COLOR: "1" } });
    expect(r.stdout.toString()).toMatch(OWN_SGR);
    expect(rawIn(r.stdout.toString()), "coloured show --detail 4").toBeUndefined();
  });

  it("nor in `reflow capture`'s own log on stdout", async () => {
    const file = join(dir, "cli.mitm");
    const cap = await startCapture(["-m", `reverse:http://127.0.0.1:${originPort}`, "--detail", "4", "-w", file]);
    try {
      await new Promise<void>((resolve, reject) => {
        const client = connect(cap.port, "127.0.0.1", () => client.write(`GET /cli HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
        client.on("data", () => {});
        client.on("end", resolve);
        client.on("error", reject);
      });
      // the log line of the finished flow is the readiness signal: wait for it, not for a time
      for (let i = 0; i < 400 && !cap.stdout().includes("pwned-title"); i++) await new Promise((r) => setTimeout(r, 25));
    } finally {
      await cap.stop();
    }
    const log = cap.stdout();
    expect(log, "the capture logged the flow").toContain("\\x1b]52;c;cHduZWQ=\\x07");
    expect(rawIn(log), "reflow capture --detail 4 on stdout").toBeUndefined();
    expect(rawIn(cap.stderr()), "reflow capture's stderr").toBeUndefined();
  });
});
