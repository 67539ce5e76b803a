/**
 * reflow's rewrite rules on saved flows do what mitmdump 8.1.1's own rules do to live
 * traffic: the same requests through a plain mitmdump, rewritten offline by `reflow run`
 * with the rules, equal the flows mitmdump recorded with the rules on (timestamps, addresses
 * the Date header, and the Host header map-remote sets, which mitmproxy 8.1.1 wrote without
 * the port, aside). Skipped where mitmdump is missing, required in CI.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { curl, httpOrigin, type Listening, tempDir } from "../proxy/capture-harness.js";
import { hasMitmdump, reflow } from "../helpers.js";

const mitmdump = hasMitmdump();
const dir = tempDir("reflow-rules-interop-");
const RULES: [string, string][] = [
  ["modify-headers", "/~q/X-Req/one"],
  ["modify-headers", "/X-Both/both"],
  ["modify-headers", "/~s/Server/"],
  ["modify-headers", "|~s & ~u /b|X-Only-B|b"],
  ["modify-body", "/~s/hello/bye"],
  ["modify-body", "/~q/world/earth"],
  ["map-remote", "|~u /c|/c$|/mapped"],
];

/** Runs mitmdump as a proxy writing `out` (with `args`), until `stop`. */
async function startMitmdump(out: string, args: string[]): Promise<{ port: number; stop(): Promise<void> }> {
  const proc: ChildProcess = spawn("mitmdump", ["-p", "0", "--set", "listen_host=127.0.0.1", "-w", out, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const port = await new Promise<number>((resolve, reject) => {
    let seen = "";
    const onData = (d: Buffer): void => {
      seen += d.toString();
      const m = /listening at [^\s]*:(\d+)/.exec(seen);
      if (m) resolve(Number(m[1]));
    };
    proc.stdout!.on("data", onData);
    proc.stderr!.on("data", onData);
    proc.once("exit", (code) => reject(new Error(`mitmdump exited (${code}): ${seen}`)));
  });
  return {
    port,
    stop: () =>
      new Promise((resolve) => {
        proc.once("exit", () => resolve());
        proc.kill("SIGINT");
      }),
  };
}

describe.skipIf(!mitmdump)("rewrite rules offline equal mitmdump 8.1.1's live rules", () => {
  let origin: Listening<import("node:http").Server>;
  beforeAll(async () => {
    // the answer does not depend on the request, so map-remote's new URL gets the recorded answer
    origin = await httpOrigin((req, res) => {
      req.resume();
      req.on("end", () => {
        res.writeHead(200, { "content-type": "text/plain", server: "origin" });
        res.end("hello world\n");
      });
    });
  });
  afterAll(async () => {
    await origin?.close();
  });

  async function record(out: string, args: string[]): Promise<void> {
    const m = await startMitmdump(out, args);
    try {
      const proxy = ["-x", `http://127.0.0.1:${m.port}`];
      for (const request of [["/a"], ["-d", "hello world", "/b"], ["/c"]]) {
        const path = request.pop()!;
        const r = await curl([...proxy, ...request, `http://127.0.0.1:${origin.port}${path}`]);
        expect(r.code, r.stderr).toBe(0);
      }
    } finally {
      await m.stop();
    }
  }

  it("headers, bodies and URLs come out the same", async () => {
    const plain = join(dir, "plain.mitm");
    const live = join(dir, "live.mitm");
    const offline = join(dir, "offline.mitm");
    await record(plain, []);
    await record(live, RULES.flatMap(([option, rule]) => ["--set", `${option.replace("-", "_")}=${rule}`]));
    // mitmdump 8.1.1 reads files without rules: its own rules leave them as they are
    const untouched = join(dir, "untouched.mitm");
    spawnSync("mitmdump", ["-q", "-nr", plain, "-w", untouched, ...RULES.flatMap(([o, r]) => ["--set", `${o.replace("-", "_")}=${r}`])]);
    expect(reflow(["diff", plain, untouched, "--ignore-header", "date"]).status, "mitmdump's rules do nothing offline").toBe(0);

    const r = reflow(["run", "-r", plain, ...RULES.flatMap(([option, rule]) => [`--${option}`, rule]), "-w", offline]);
    expect(r.status, r.stderr.toString()).toBe(0);
    // Host: a changed URL sets it to host:port as current mitmproxy does; 8.1.1 wrote the host alone
    const d = reflow(["diff", live, offline, "--by", "order", "--ignore-header", "date", "--ignore-header", "host"]);
    expect(d.status, d.stdout.toString()).toBe(0);
    expect(reflow(["diff", plain, offline, "--by", "order", "--ignore-header", "date"]).status, "the rules changed something").toBe(1);
  });
});
