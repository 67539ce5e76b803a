/**
 * Helpers for live-capture tests: `reflow capture` as a child process on a port it picks,
 * local origin servers (HTTP, HTTPS from a test CA, TCP echo), clients that go through the
 * proxy (Node and curl, both asynchronous: the origins live in the test process), and the
 * recorded flows read back with the library.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import {
  type IncomingMessage,
  type RequestListener,
  type Server as HttpServer,
  createServer as createHttpServer,
  request as httpRequest,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { type AddressInfo, type Server as NetServer, type Socket, connect as netConnect, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TLSSocket, connect as tlsConnect } from "node:tls";
import { readFlows } from "../../src/io/flow-source.js";
import type { Flow, HTTPFlow } from "../../src/model/index.js";
import { CA_CERT_FILE, CertificateAuthority } from "../../src/proxy/tls/certificates.js";
import { cliPath, projectRoot } from "../helpers.js";

/** A fresh temporary directory. */
export function tempDir(prefix = "reflow-capture-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A test file's folders: its temporary folder, and the confdir its captures share. */
export interface CaptureDirs {
  dir: string;
  confdir: string;
  /** the proxy's CA certificate (PEM) in `confdir`, there once a capture has made the CA */
  proxyCa: string;
}

/** A fresh temporary folder (named after `prefix`) with a confdir for the captures of one test file. */
export function captureDirs(prefix: string): CaptureDirs {
  const dir = tempDir(prefix);
  const confdir = join(dir, "conf");
  return { dir, confdir, proxyCa: join(confdir, CA_CERT_FILE) };
}

/** A running `reflow capture`. */
export interface RunningCapture {
  port: number;
  proc: ChildProcess;
  stdout(): string;
  /** stdout as bytes (flows written with `-w -`) */
  stdoutBytes(): Buffer;
  stderr(): string;
  /** sends `signal` (by PID) and waits for the exit */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running = new Set<ChildProcess>();

/** Starts `reflow capture -p 0 ARGS` and waits until it listens. */
export function startCapture(args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunningCapture> {
  return startProxyCommand("capture", args, env);
}

/** Starts `reflow COMMAND -p 0 ARGS` (a command that runs the proxy) and waits until it listens. */
export function startProxyCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<RunningCapture> {
  const proc = spawn(process.execPath, [cliPath, command, "-p", "0", "--listen-host", "127.0.0.1", ...args], {
    cwd: projectRoot,
    env: { ...process.env, NO_COLOR: "1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(proc);
  const out: Buffer[] = [];
  let err = "";
  proc.stdout!.on("data", (d: Buffer) => out.push(d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once("exit", (code, signal) => {
      running.delete(proc);
      resolve({ code, signal });
    }),
  );
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${command} did not start:\n${err}`)), 20_000);
    proc.stderr!.on("data", (d: Buffer) => {
      err += d.toString();
      const m = /Proxy server listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({
          port: Number(m[1]),
          proc,
          stdout: () => Buffer.concat(out).toString(),
          stdoutBytes: () => Buffer.concat(out),
          stderr: () => err,
          stop: (signal = "SIGINT") => {
            if (proc.exitCode === null && proc.signalCode === null) process.kill(proc.pid!, signal);
            return exited;
          },
        });
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`${command} exited before listening:\n${err}`));
    });
  });
}

/** Two captures in a chain, each writing its file in `dirs.dir`: `up` in upstream mode through `peer`, which trusts `originCaFile`. */
export async function startUpstreamChain(
  dirs: CaptureDirs,
  originCaFile: string,
  name: string,
): Promise<{ peer: RunningCapture; up: RunningCapture; peerFile: string; file: string; stop(): Promise<void> }> {
  const peerFile = join(dirs.dir, `${name}-peer.mitm`);
  const file = join(dirs.dir, `${name}.mitm`);
  const peer = await startCapture(["-w", peerFile, "--confdir", dirs.confdir, "-q"], { NODE_EXTRA_CA_CERTS: originCaFile });
  const up = await startCapture(["-m", `upstream:http://127.0.0.1:${peer.port}`, "-w", file, "--confdir", dirs.confdir, "-q"], {
    NODE_EXTRA_CA_CERTS: dirs.proxyCa,
  });
  return {
    peer,
    up,
    peerFile,
    file,
    async stop() {
      await up.stop();
      await peer.stop();
    },
  };
}

/** Kills captures a failed test left behind (by their PIDs). */
export function killStrayCaptures(): void {
  for (const p of running) if (p.pid) process.kill(p.pid, "SIGKILL");
}

/** Waits (briefly polling) until the capture file holds a flow of `type`, and returns it. */
export async function waitForFlowOfType(path: string, type: Flow["type"]): Promise<Flow | undefined> {
  for (let i = 0; i < 100; i++) {
    const flow = (await readCapture(path).catch(() => [] as Flow[])).find((f) => f.type === type);
    if (flow) return flow;
    await new Promise((r) => setTimeout(r, 25));
  }
  return undefined;
}

/** Waits (polling, up to 5 s) until the capture file holds an HTTP flow for `requestPath`; the last one. */
export async function waitForHttpFlow(path: string, requestPath: string): Promise<HTTPFlow> {
  for (let i = 0; i < 200; i++) {
    const flow = (await httpFlows(path).catch(() => [])).filter((f) => f.request.path === requestPath).pop();
    if (flow) return flow;
    await sleep(25);
  }
  throw new Error(`no flow for ${requestPath} in ${path}`);
}

/** Every flow of a capture file. */
export async function readCapture(path: string): Promise<Flow[]> {
  const out: Flow[] = [];
  for await (const f of readFlows(path)) out.push(f);
  return out;
}

/** The HTTP flows of a capture file. */
export async function httpFlows(path: string): Promise<HTTPFlow[]> {
  return (await readCapture(path)).filter((f) => f.type === "http") as HTTPFlow[];
}

/** A listening server and its port. */
export interface Listening<S> {
  server: S;
  port: number;
  close(): Promise<void>;
}

function listen<S extends NetServer>(server: S): Promise<Listening<S>> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise((r) => {
            (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
            server.close(() => r());
          }),
      });
    });
  });
}

/** An HTTP origin on 127.0.0.1. */
export function httpOrigin(handler: RequestListener): Promise<Listening<HttpServer>> {
  return listen(createHttpServer(handler));
}

/** A test CA for HTTPS origins, and an origin serving per-host certificates from it. */
export async function originCa(): Promise<{ ca: CertificateAuthority; certFile: string }> {
  const dir = tempDir("reflow-origin-ca-");
  const ca = await CertificateAuthority.open(dir);
  return { ca, certFile: join(dir, CA_CERT_FILE) };
}

/** An HTTPS origin on 127.0.0.1 whose certificates come from `ca` (by SNI; 127.0.0.1 without). */
export async function httpsOrigin(ca: CertificateAuthority, handler: RequestListener): Promise<Listening<HttpServer>> {
  const fallback = await ca.leaf("127.0.0.1");
  const server = createHttpsServer(
    {
      SNICallback: (name, cb) => ca.leaf(name).then((l) => cb(null, l.context), (e: Error) => cb(e)),
      key: fallback.keyPem,
      cert: fallback.pem,
      ALPNProtocols: ["http/1.1"],
    },
    handler,
  );
  return listen(server as unknown as HttpServer);
}

/** A TCP echo server: it sends every chunk back. */
export function tcpEcho(): Promise<Listening<NetServer>> {
  return listen(createNetServer((s) => s.pipe(s)));
}

/** A response as a client got it. */
export interface ClientResponse {
  status: number;
  headers: string[];
  body: Buffer;
}

/** An absolute-form request through the proxy (a Node client). */
export function viaProxy(
  proxyPort: number,
  url: string,
  opts: { method?: string; headers?: string[]; body?: Buffer | string; agent?: import("node:http").Agent } = {},
): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: "127.0.0.1",
      port: proxyPort,
      method: opts.method ?? "GET",
      path: url,
      headers: opts.headers ?? ["Host", new URL(url).host],
      setHost: false,
      agent: opts.agent,
    });
    req.on("response", (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** A CONNECT tunnel through the proxy to host:port. */
export function connectTunnel(proxyPort: number, host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect(proxyPort, "127.0.0.1", () => s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`));
    let head = "";
    const onData = (d: Buffer): void => {
      head += d.toString("latin1");
      if (!head.includes("\r\n\r\n")) return;
      s.removeListener("data", onData);
      if (!/^HTTP\/1\.1 200/.test(head)) return reject(new Error(`CONNECT refused: ${head}`));
      resolve(s);
    };
    s.on("data", onData);
    s.on("error", reject);
  });
}

/**
 * Raw bytes through a tunnel to host:port: writes each of `writes` with a pause between
 * them (so each reads as its own message), ends, and gives back all that came back.
 */
export async function tcpExchange(proxyPort: number, host: string, port: number, writes: string[], pauseMs = 50): Promise<string> {
  const s = await connectTunnel(proxyPort, host, port);
  const got: Buffer[] = [];
  s.on("data", (d: Buffer) => got.push(d));
  for (const w of writes) {
    s.write(w);
    await sleep(pauseMs);
  }
  s.end();
  await new Promise((r) => s.once("close", r));
  return Buffer.concat(got).toString();
}

/** TLS over a tunnel, trusting `ca` (PEM). */
export function tlsOverTunnel(socket: Socket, servername: string | undefined, ca: string | Buffer): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tlsConnect({ socket, servername, ca, ALPNProtocols: ["http/1.1"] }, () => resolve(t));
    t.on("error", reject);
  });
}

/** Runs curl (asynchronously: the servers it talks to live in this process). */
export function curl(args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve) => {
    execFile("curl", ["-s", "-S", ...args], { encoding: "buffer", maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === "number" ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr: stderr.toString() });
    });
  });
}

/** Header pairs of a recorded message as [name, value] strings, in order. */
export function headerList(fields: [Buffer, Buffer][]): [string, string][] {
  return fields.map(([n, v]) => [n.toString("latin1"), v.toString("latin1")]);
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
