/**
 * Misconfiguration and slow clients cannot make the proxy loop or hold connections for ever:
 * a reverse/upstream target that is the proxy itself is refused at start, a request that comes
 * back to the proxy that relayed it is answered 508, a request head must arrive within the
 * head timeout (a slow body may take longer), an output that cannot be made stops the capture
 * before it listens, and a CONNECT to a refused target is answered 502, as mitmdump does.
 */
import { type AddressInfo, type Socket, connect, createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { spawn } from "node:child_process";
import { cliPath, projectRoot } from "../helpers.js";
import { httpOrigin, killStrayCaptures, startCapture, tempDir } from "./capture-harness.js";

afterAll(() => killStrayCaptures());

/** A port nothing listens on (bound by the OS, then closed). */
async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Sends raw bytes to the proxy and resolves with everything it answers before closing. */
function rawExchange(port: number, write: (s: Socket) => void): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const s = connect(port, "127.0.0.1", () => write(s));
    const got: Buffer[] = [];
    s.on("data", (d: Buffer) => got.push(d));
    s.once("error", reject);
    s.once("close", () => resolve({ text: Buffer.concat(got).toString("latin1"), closedAfterMs: Date.now() - started }));
  });
}

/** Runs `reflow ARGS` expecting it to exit by itself; one still running after 20 s is killed (and fails). */
function runToExit(args: string[]): Promise<{ status: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: projectRoot, env: { ...process.env, NO_COLOR: "1" } });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    child.once("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stderr });
    });
  });
}

const firstLine = (text: string): string => text.split("\r\n")[0] ?? "";

describe("a capture pointed at itself", () => {
  for (const [what, host] of [
    ["its own address", "127.0.0.1"],
    ["a name for it", "localhost"],
  ]) {
    it(`is refused at start (exit 2): reverse mode to ${what}`, async () => {
      const port = await freePort();
      const r = await runToExit(["capture", "--listen-host", "127.0.0.1", "-p", String(port), "-m", `reverse:http://${host}:${port}`, "-q"]);
      expect(r.status).toBe(2);
      const err = r.stderr;
      expect(err.trim().split("\n"), err).toHaveLength(1);
      expect(err).not.toContain("listening");
    });
  }

  it("answers 508 to a request that comes back to it, instead of relaying it again", async () => {
    // a forwarder the start check cannot see through: its target is the capture itself
    let capturePort = 0;
    let connections = 0;
    const forwarder = createNetServer((client) => {
      connections++;
      const upstream = connect(capturePort, "127.0.0.1");
      client.pipe(upstream).pipe(client);
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
    });
    await new Promise<void>((r) => forwarder.listen(0, "127.0.0.1", () => r()));
    const fport = (forwarder.address() as AddressInfo).port;
    const cap = await startCapture(["-m", `reverse:http://127.0.0.1:${fport}`, "-q"]);
    capturePort = cap.port;
    try {
      const r = await rawExchange(cap.port, (s) => s.write("GET /loop HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"));
      expect(firstLine(r.text)).toMatch(/^HTTP\/1\.1 508 /);
      expect(connections, "the request went round once, not without end").toBe(1);
    } finally {
      await cap.stop();
      forwarder.close();
    }
  });
});

describe("the request-head timeout", () => {
  it("closes a client that sends its head too slowly, but lets a slow body finish", async () => {
    const origin = await httpOrigin((req, res) => {
      req.resume();
      req.once("end", () => res.end("ok"));
    });
    const cap = await startCapture(["--head-timeout", "1", "-q"]);
    try {
      // a header line every 300 ms, for ever: the head never completes
      const slowHead = await rawExchange(cap.port, (s) => {
        s.write(`GET http://127.0.0.1:${origin.port}/ HTTP/1.1\r\n`);
        const t = setInterval(() => (s.writable ? s.write("x-slow: 1\r\n") : clearInterval(t)), 300);
        s.once("close", () => clearInterval(t));
      });
      expect(slowHead.closedAfterMs).toBeLessThan(10_000);
      // a whole head at once, then a body byte every 400 ms for 2.4 s: longer than the head timeout
      const slowBody = await rawExchange(cap.port, (s) => {
        s.write(`POST http://127.0.0.1:${origin.port}/up HTTP/1.1\r\nhost: x\r\ncontent-length: 6\r\nconnection: close\r\n\r\n`);
        let sent = 0;
        const t = setInterval(() => {
          s.write("b");
          if (++sent === 6) clearInterval(t);
        }, 400);
      });
      expect(firstLine(slowBody.text)).toBe("HTTP/1.1 200 OK");
    } finally {
      await cap.stop();
      await origin.close();
    }
  });
});

describe("capture setup and CONNECT failures", () => {
  it("an output in a missing folder is one line, exit 2, before listening", async () => {
    const r = await runToExit(["capture", "-p", "0", "-w", join(tempDir(), "missing", "c.mitm"), "-q"]);
    expect(r.status).toBe(2);
    const err = r.stderr;
    expect(err.trim().split("\n"), err).toHaveLength(1);
    expect(err).toContain("c.mitm");
    expect(err).not.toContain("listening");
  });

  it("answers a CONNECT to a refused target with 502", async () => {
    const closed = await freePort();
    const cap = await startCapture(["-q"]);
    try {
      const r = await rawExchange(cap.port, (s) => s.write(`CONNECT 127.0.0.1:${closed} HTTP/1.1\r\nhost: 127.0.0.1:${closed}\r\n\r\n`));
      expect(firstLine(r.text)).toMatch(/^HTTP\/1\.1 502 /);
    } finally {
      await cap.stop();
    }
  });
});
