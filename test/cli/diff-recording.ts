/**
 * Test helper for `reflow diff`: records real captures with Debian's mitmdump 8.1.1 — curl
 * through `mitmdump -w FILE` against a local origin — so two recordings of the same
 * requests made at different times can be diffed.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { type Server, createServer } from "node:http";
import { type AddressInfo, connect, createServer as createTcpServer } from "node:net";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A free loopback port (listen on 0, then let it go). */
export async function freePort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

async function waitForPort(port: number, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`mitmdump exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = connect(port, "127.0.0.1", () => {
        sock.destroy();
        resolve(true);
      });
      sock.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`mitmdump never listened on ${port}`);
}

/** What the origin serves in one recording. */
export interface OriginState {
  /** the price of item 2 in /api/items (the one JSON field that changes between recordings) */
  price: number;
  /** the Date header the origin sends */
  date: string;
}

/** A local origin whose answers depend on `state`, listening on a port it picked. */
export async function startOrigin(state: OriginState): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.sendDate = false;
      res.setHeader("Date", state.date);
      if (req.url === "/api/items") {
        res.setHeader("Content-Type", "application/json");
        res.end(
          JSON.stringify({
            items: [
              { id: 1, name: "alpha", price: 3 },
              { id: 2, name: "beta", price: state.price },
            ],
            page: 1,
          }),
        );
      } else if (req.url === "/api/echo") {
        res.setHeader("Content-Type", "application/json");
        res.end(Buffer.concat(chunks));
      } else {
        res.setHeader("Content-Type", "text/plain; charset=utf-8");
        res.end("line one\nline two\nline three\n");
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** Records, through a fresh mitmdump writing `file`, the same four requests to the origin. */
export async function recordWithMitmdump(file: string, originPort: number): Promise<void> {
  const port = await freePort();
  const child = spawn("mitmdump", ["-q", "-p", String(port), "--listen-host", "127.0.0.1", "-w", file], {
    stdio: "ignore",
  });
  try {
    await waitForPort(port, child);
    const origin = `http://127.0.0.1:${originPort}`;
    const curl = (...args: string[]): Promise<unknown> =>
      run("curl", ["-sS", "--noproxy", "", "-x", `http://127.0.0.1:${port}`, "-o", "/dev/null", ...args]);
    await curl(`${origin}/`);
    await curl(`${origin}/api/items`);
    await curl("-H", "Content-Type: application/json", "--data", '{"q":"x"}', `${origin}/api/echo`);
    await curl(`${origin}/text`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGINT"); // mitmdump writes and closes the file on SIGINT
      await exited;
    }
  }
}
