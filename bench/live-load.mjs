/**
 * What the live benchmarks (capture.mjs, replay.mjs) share: a work folder and the server
 * processes they start, both cleaned up at exit; free ports; waiting until a port listens.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect as netConnect, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const children = new Set();
const folders = [];
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
  for (const f of folders) rmSync(f, { recursive: true, force: true });
});

/** A fresh temporary folder, removed when the benchmark exits. */
export function workDir(prefix) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  folders.push(dir);
  return dir;
}

/** Resolves after `ms`. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve) => {
    const s = createNetServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Waits until `port` accepts connections, trying every `every` ms for up to `ms`; resolves with the seconds since `started`. */
export async function waitForPort(port, { ms = 20_000, every = 100, started = performance.now() } = {}) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const ok = await new Promise((r) => {
      const s = netConnect(port, "127.0.0.1", () => (s.destroy(), r(true)));
      s.on("error", () => r(false));
    });
    if (ok) return (performance.now() - started) / 1000;
    await sleep(every);
  }
  throw new Error(`nothing listens on ${port}`);
}

/** Starts a server process (stderr kept); `stop` sends SIGINT, then SIGKILL after 15 s, and resolves with how it exited. */
export function start(cmd, argv, env = {}) {
  const p = spawn(cmd, argv, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, ...env } });
  let err = "";
  p.stderr.on("data", (d) => (err += d));
  children.add(p);
  const exited = new Promise((r) => p.once("exit", (code, signal) => (children.delete(p), r({ code, signal }))));
  return {
    proc: p,
    stderr: () => err,
    async stop() {
      p.kill("SIGINT");
      const t = setTimeout(() => p.kill("SIGKILL"), 15000);
      const r = await exited;
      clearTimeout(t);
      return r;
    },
  };
}
