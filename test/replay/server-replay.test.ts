/**
 * `reflow replay` (server replay) end to end: a recording made with `reflow capture` from
 * local origins, which are stopped before anything is replayed; the replay answers alone.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HTTPFlow } from "../../src/model/index.js";
import {
  type ClientResponse,
  type RunningCapture,
  captureDirs,
  curl,
  httpFlows,
  httpOrigin,
  httpsOrigin,
  killStrayCaptures,
  originCa,
  readCapture,
  startCapture,
  startProxyCommand,
  viaProxy,
} from "../proxy/capture-harness.js";
import { reflow, testdata } from "../helpers.js";

const { dir, confdir, proxyCa: caCert } = captureDirs("reflow-replay-");
/** recorded in reverse mode */
const reverseRec = join(dir, "reverse.mitm");
/** recorded in forward mode, HTTP and HTTPS */
const forwardRec = join(dir, "forward.mitm");
let originPort = 0;
let securePort = 0;
/** set once recording is done: the backends drop every connection from then on */
let backendsGone = false;
let closeBackends = async (): Promise<void> => {};
const OLD_DATE = "Wed, 21 Oct 2015 07:28:00 GMT";

/** A request to a reverse proxy (origin-form). */
function ask(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<ClientResponse> {
  const headers = ["Host", `127.0.0.1:${port}`, ...Object.entries(opts.headers ?? {}).flat()];
  return viaProxy(port, path, { method: opts.method, headers, body: opts.body });
}

const header = (r: ClientResponse, name: string): string | undefined =>
  r.headers[r.headers.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === name) + 1];

const search = (nonce: string): { method: string; headers: Record<string, string>; body: string } => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ q: "shoes", nonce }),
});
const form = (token: string): { method: string; headers: Record<string, string>; body: string } => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: `a=1&token=${token}`,
});

/** Starts `reflow replay -p 0 ARGS` with the test's CA directory. */
const replay = (args: string[]): Promise<RunningCapture> => startProxyCommand("replay", ["--confdir", confdir, ...args]);

/** A listener that counts the connections made to it: nothing may reach it. */
async function connectionCounter(): Promise<{ port: number; count: () => number; close: () => void }> {
  let n = 0;
  const server = createNetServer((s) => {
    n++;
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as AddressInfo).port, count: () => n, close: () => server.close() };
}

beforeAll(async () => {
  let counter = 0;
  const handler = (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse): void => {
    if (backendsGone) return void req.socket.destroy();
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.sendDate = false;
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname === "/counter") return void res.end(String(++counter));
      if (url.pathname === "/dated") {
        res.writeHead(200, ["Date", OLD_DATE, "Set-Cookie", `sid=1; Expires=${OLD_DATE}; Path=/`, "Content-Length", "5"]);
        return void res.end("dated");
      }
      const body = JSON.stringify({ path: url.pathname, query: url.search, body: Buffer.concat(chunks).toString(), tenant: req.headers["x-tenant"] ?? null });
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
    });
  };
  const origin = await httpOrigin(handler);
  originPort = origin.port;
  const tls = await originCa();
  const secure = await httpsOrigin(tls.ca, (req, res) => (backendsGone ? req.socket.destroy() : res.end("secret over TLS")));
  securePort = secure.port;

  // Recorded through reverse mode...
  const rev = await startCapture(["-m", `reverse:http://127.0.0.1:${originPort}`, "-w", reverseRec, "-q"]);
  await ask(rev.port, "/api/items?page=1");
  for (let i = 0; i < 3; i++) await ask(rev.port, "/counter");
  await ask(rev.port, "/api/search", search("n1"));
  await ask(rev.port, "/form", form("t1"));
  await ask(rev.port, "/dated");
  await ask(rev.port, "/tenant", { headers: { "x-tenant": "a" } });
  await ask(rev.port, "/list?page=1&ts=111");
  expect((await rev.stop()).code, "reverse capture").toBe(0);

  // ...and through forward mode, plain and intercepted HTTPS.
  const fwd = await startCapture(["-w", forwardRec, "-q", "-k", "--confdir", confdir]);
  await viaProxy(fwd.port, `http://127.0.0.1:${originPort}/api/items?page=1`);
  const got = await curl(["-x", `http://127.0.0.1:${fwd.port}`, "--cacert", caCert, `https://localhost:${securePort}/secure`]);
  expect(got.stdout.toString(), got.stderr).toBe("secret over TLS");
  expect((await fwd.stop()).code, "forward capture").toBe(0);

  // The backends are gone: whatever answers from here on is the replay. Their ports stay
  // taken (each connection is dropped), so that no replay proxy is given one of them by the OS.
  backendsGone = true;
  closeBackends = async () => {
    await origin.close();
    await secure.close();
  };
}, 60_000);

afterAll(async () => {
  killStrayCaptures();
  await closeBackends();
});

/** Replays `recording` in reverse mode: /api/items answered, then /counter's three answers in order and a 404. */
async function answersInOrder(recording: string): Promise<RunningCapture> {
  const r = await replay([recording, "-m", `reverse:http://127.0.0.1:${originPort}`]);
  expect(JSON.parse((await ask(r.port, "/api/items?page=1")).body.toString()).query).toBe("?page=1");
  const counts = [];
  for (let i = 0; i < 4; i++) {
    const res = await ask(r.port, "/counter");
    counts.push(res.status === 200 ? res.body.toString() : res.status);
  }
  expect(counts).toEqual(["1", "2", "3", 404]);
  return r;
}

describe("reflow replay: reverse mode", () => {
  it("answers from the recording, repeated requests with their answers in recorded order, then 404", async () => {
    const r = await answersInOrder(reverseRec);
    await r.stop();
    expect(r.stderr()).toContain("miss: GET /counter: all 3 recorded answers were served already");
  });

  it("--extra sets what a miss gets; --reuse serves the last answer again", async () => {
    const r500 = await replay([reverseRec, "-m", `reverse:http://127.0.0.1:${originPort}`, "--extra", "500"]);
    expect((await ask(r500.port, "/nothing")).status).toBe(500);
    await r500.stop();
    const kill = await replay([reverseRec, "-m", `reverse:http://127.0.0.1:${originPort}`, "--extra", "kill"]);
    await expect(ask(kill.port, "/nothing"), "a killed miss closes the connection").rejects.toThrow();
    await kill.stop();
    const forward = await replay([reverseRec, "-m", `reverse:http://127.0.0.1:${originPort}`, "--extra", "forward"]);
    expect((await ask(forward.port, "/nothing")).status, "forwarded to the stopped origin: 502").toBe(502);
    await forward.stop();
    const reuse = await replay([reverseRec, "-m", `reverse:http://127.0.0.1:${originPort}`, "--reuse"]);
    const counts = [];
    for (let i = 0; i < 5; i++) counts.push((await ask(reuse.port, "/counter")).body.toString());
    expect(counts).toEqual(["1", "2", "3", "3", "3"]);
    await reuse.stop();
  });

  it("each ignore option turns a miss into a hit", async () => {
    const cases: { args: string[]; path: string; opts?: Parameters<typeof ask>[2] }[] = [
      { args: ["--ignore-params", "ts"], path: "/list?page=1&ts=222" },
      { args: ["--ignore-payload-params", "token"], path: "/form", opts: form("t2") },
      { args: ["--ignore-content"], path: "/form", opts: { ...form("t1"), body: "something else" } },
      { args: ["--ignore-json-path", "$.nonce"], path: "/api/search", opts: search("n2") },
    ];
    for (const c of cases) {
      const plain = await replay([reverseRec, "-m", `reverse:http://127.0.0.1:${originPort}`]);
      expect((await ask(plain.port, c.path, c.opts)).status, `without ${c.args.join(" ")}`).toBe(404);
      await plain.stop();
      const ignoring = await replay([reverseRec, "-m", `reverse:http://127.0.0.1:${originPort}`, ...c.args]);
      expect((await ask(ignoring.port, c.path, c.opts)).status, `with ${c.args.join(" ")}`).toBe(200);
      await ignoring.stop();
    }
  });

  it("--use-headers makes a header part of the match", async () => {
    const plain = await replay([reverseRec, "-m", `reverse:http://127.0.0.1:${originPort}`]);
    expect((await ask(plain.port, "/tenant", { headers: { "x-tenant": "b" } })).status).toBe(200);
    await plain.stop();
    const strict = await replay([reverseRec, "-m", `reverse:http://127.0.0.1:${originPort}`, "--use-headers", "X-Tenant"]);
    expect((await ask(strict.port, "/tenant", { headers: { "x-tenant": "b" } })).status).toBe(404);
    expect((await ask(strict.port, "/tenant", { headers: { "x-tenant": "a" } })).status).toBe(200);
    await strict.stop();
    expect(strict.stderr()).toContain("nearest GET /tenant, header X-Tenant b ≠ a");
  });

  it("logs each miss with the nearest recorded request and what differs", async () => {
    const r = await replay([reverseRec, "-m", `reverse:http://127.0.0.1:${originPort}`]);
    await ask(r.port, "/api/items?page=2");
    await ask(r.port, "/api/search", search("n2"));
    await r.stop();
    expect(r.stderr()).toContain("miss: GET /api/items?page=2: nearest GET /api/items?page=1, query page 2 ≠ 1");
    expect(r.stderr(), "the JSON path to ignore is named").toContain('miss: POST /api/search: nearest POST /api/search, body $.nonce "n2" ≠ "n1"');
  });

  it("-w writes served flows (is_replay) and misses (error flows); scripts see isReplay", async () => {
    const out = join(dir, "served.mitm");
    const script = join(dir, "mark.mjs");
    writeFileSync(script, 'export function response(ctx, flow) { flow.response.headers.set("x-seen", String(flow.isReplay)); }\n');
    const r = await replay([reverseRec, "-m", `reverse:http://127.0.0.1:${originPort}`, "-w", out, "-s", script]);
    const hit = await ask(r.port, "/api/items?page=1");
    expect(header(hit, "x-seen"), "the script's response hook ran on the served answer").toBe("response");
    expect((await ask(r.port, "/missing")).status).toBe(404);
    expect((await r.stop()).code).toBe(0);
    const flows = await httpFlows(out);
    expect(flows.map((f) => [f.request.path, f.isReplay, f.response?.statusCode, f.error === null])).toEqual([
      ["/api/items?page=1", "response", 200, true],
      ["/missing", "response", 404, false],
    ]);
    expect(flows[1]!.error!.msg).toContain("GET /missing");
  });

  it("answers from several files given as a glob, in path order", async () => {
    expect(reflow(["convert", reverseRec, "-o", join(dir, "part-1.mitm"), "--filter", "~u /counter"]).status).toBe(0);
    expect(reflow(["convert", reverseRec, "-o", join(dir, "part-2.mitm"), "--filter", "~u /counter | ~u /dated"]).status).toBe(0);
    const r = await replay([join(dir, "part-*.mitm"), "-m", `reverse:http://127.0.0.1:${originPort}`]);
    const counts = [];
    for (let i = 0; i < 7; i++) counts.push((await ask(r.port, "/counter")).body.toString());
    expect(counts, "part-1's three answers, then part-2's").toEqual(["1", "2", "3", "1", "2", "3", ""]);
    expect((await ask(r.port, "/dated")).status).toBe(200);
    await r.stop();
  });

  it("usage errors exit 2 before listening", () => {
    for (const bad of [
      ["--extra", "302"],
      ["--ignore-json-path", "nonce"],
      ["-m", "upstream:http://127.0.0.1:1"],
      ["--client", "--concurrency", "0"],
    ]) {
      const r = reflow(["replay", reverseRec, "-p", "0", ...bad]);
      expect(r.status, `${bad.join(" ")}: ${r.stderr}`).toBe(2);
    }
  });

  it("listens on the port its reverse target names, unless it forwards misses there (a loop: exit 2)", async () => {
    const taken = await connectionCounter(); // a port nothing else listens on once closed
    const port = String(taken.port);
    taken.close();
    const target = `reverse:http://127.0.0.1:${port}`;
    const r = await replay([reverseRec, "-p", port, "-m", target, "--ignore-port"]);
    expect(String(r.port), "listening on the port asked for").toBe(port);
    expect(JSON.parse((await ask(r.port, "/api/items?page=1")).body.toString()).query).toBe("?page=1");
    await r.stop();
    const loop = reflow(["replay", reverseRec, "--confdir", confdir, "--listen-host", "127.0.0.1", "-p", port, "-m", target, "--extra", "forward"]);
    expect(loop.status, loop.stderr.toString()).toBe(2);
  });

  it("refuses -w naming a recording it answers from (exit 2), leaving it as it was", () => {
    const before = readFileSync(reverseRec);
    const r = reflow(["replay", reverseRec, "-w", reverseRec, "-p", "0"]);
    expect(r.status, r.stderr.toString()).toBe(2);
    expect(readFileSync(reverseRec).equals(before)).toBe(true);
  });

  it("--strict exits 1 when a request missed or a recorded answer was never asked for", async () => {
    const one = join(dir, "one.mitm");
    expect(reflow(["convert", reverseRec, "-o", one, "--filter", "~u /api/items"]).status).toBe(0);
    const args = [one, "-m", `reverse:http://127.0.0.1:${originPort}`, "--strict"];
    const all = await replay(args);
    await ask(all.port, "/api/items?page=1");
    expect((await all.stop()).code, all.stderr()).toBe(0);
    const unused = await replay(args);
    expect((await unused.stop()).code).toBe(1);
    expect(unused.stderr()).toContain("never asked for: GET /api/items?page=1");
    const missed = await replay(args);
    await ask(missed.port, "/api/items?page=1");
    await ask(missed.port, "/other");
    expect((await missed.stop()).code).toBe(1);
  });
});

describe("reflow replay: rewrite rules", () => {
  it("request rules run before the match: a rewritten request finds its recorded answer", async () => {
    const target = ["-m", `reverse:http://127.0.0.1:${originPort}`];
    const plain = await replay([reverseRec, ...target, "--use-headers", "x-tenant"]);
    expect((await ask(plain.port, "/v2/api/items?page=1")).status, "/v2 without --map-remote").toBe(404);
    expect((await ask(plain.port, "/tenant", { headers: { "x-tenant": "b" } })).status, "tenant b without --modify-headers").toBe(404);
    await plain.stop();
    const rules = ["--map-remote", "|/v2/|/", "--modify-headers", "|~q & ~u tenant|x-tenant|a"];
    const r = await replay([reverseRec, ...target, "--use-headers", "x-tenant", ...rules]);
    const items = await ask(r.port, "/v2/api/items?page=1");
    expect(items.status, `/v2 with --map-remote: ${r.stderr()}`).toBe(200);
    expect(JSON.parse(items.body.toString()).path).toBe("/api/items");
    const tenant = await ask(r.port, "/tenant", { headers: { "x-tenant": "b" } });
    expect(tenant.status, "tenant b with --modify-headers").toBe(200);
    expect(JSON.parse(tenant.body.toString()).tenant).toBe("a");
    await r.stop();
    expect(r.stderr()).not.toContain("miss:");
  });

  it("response rules rewrite the answer served, and -w records it so", async () => {
    const out = join(dir, "rewritten.mitm");
    const rules = ["--modify-headers", "/~s/x-served-by/replay", "--redact", "$.query"];
    const r = await replay([reverseRec, "-m", `reverse:http://127.0.0.1:${originPort}`, "-w", out, ...rules]);
    const hit = await ask(r.port, "/api/items?page=1");
    expect(hit.status).toBe(200);
    expect(header(hit, "x-served-by"), "--modify-headers on the served answer").toBe("replay");
    const body = JSON.parse(hit.body.toString());
    expect([body.path, body.query], "--redact on the served body").toEqual(["/api/items", "REDACTED"]);
    expect((await r.stop()).code).toBe(0);
    const [flow] = await httpFlows(out);
    expect([flow!.isReplay, flow!.response!.headers.get("x-served-by"), JSON.parse(flow!.response!.text!).query]).toEqual(["response", "replay", "REDACTED"]);
  });

  it("a malformed rule is a usage error (exit 2) before listening", () => {
    const r = reflow(["replay", reverseRec, "-p", "0", "--modify-body", "/~q/(/x"]);
    expect(r.status, r.stderr.toString()).toBe(2);
  });
});

describe("reflow replay: forward mode", () => {
  it("answers plain HTTP and intercepted HTTPS from the recording, and never connects upstream", async () => {
    const counter = await connectionCounter();
    const r = await replay([forwardRec]);
    const plain = await viaProxy(r.port, `http://127.0.0.1:${originPort}/api/items?page=1`);
    expect(JSON.parse(plain.body.toString()).query).toBe("?page=1");
    const secure = await curl(["-x", `http://127.0.0.1:${r.port}`, "--cacert", caCert, `https://localhost:${securePort}/secure`]);
    expect(secure.stdout.toString(), secure.stderr).toBe("secret over TLS");
    expect((await viaProxy(r.port, `http://127.0.0.1:${counter.port}/nothing`)).status).toBe(404);
    const tunnelled = await curl(["-x", `http://127.0.0.1:${r.port}`, "--cacert", caCert, "-o", "/dev/null", "-w", "%{http_code}", `https://localhost:${counter.port}/x`]);
    expect(tunnelled.stdout.toString(), tunnelled.stderr).toBe("404");
    await r.stop();
    counter.close();
    expect(counter.count(), "connections made upstream").toBe(0);
  });

  it("warns when a reverse target is none of the recorded hosts", async () => {
    const wrong = await replay([reverseRec, "-m", "reverse:http://127.0.0.1:1"]);
    await wrong.stop();
    expect(wrong.stderr()).toContain(`warning: no recorded request is for 127.0.0.1:1 (recorded: 127.0.0.1:${originPort})`);
    const right = await replay([reverseRec, "-m", `reverse:http://127.0.0.1:${originPort}`]);
    await right.stop();
    expect(right.stderr()).not.toContain("warning");
  });

  it("answers HTTP/2 clients inside the intercepted tunnel, without asking the (gone) server its ALPN", async () => {
    const r = await replay([forwardRec]);
    const got = await curl(["--http2", "-x", `http://127.0.0.1:${r.port}`, "--cacert", caCert, "-w", " %{http_version}", `https://localhost:${securePort}/secure`]);
    await r.stop();
    expect(got.stdout.toString(), got.stderr).toBe("secret over TLS 2");
  });

  it("answers SOCKS5 clients (-m socks5)", async () => {
    const r = await replay([forwardRec, "-m", "socks5"]);
    const got = await curl(["--socks5-hostname", `127.0.0.1:${r.port}`, `http://127.0.0.1:${originPort}/api/items?page=1`]);
    await r.stop();
    expect(JSON.parse(got.stdout.toString()).query, got.stderr).toBe("?page=1");
  });

  it("--ignore-host and --ignore-port", async () => {
    const otherHost = `http://localhost:${originPort}/api/items?page=1`;
    const otherPort = `http://127.0.0.1:1/api/items?page=1`;
    const plain = await replay([forwardRec]);
    expect((await viaProxy(plain.port, otherHost)).status).toBe(404);
    expect((await viaProxy(plain.port, otherPort)).status).toBe(404);
    await plain.stop();
    expect(plain.stderr()).toContain("host localhost ≠ 127.0.0.1");
    expect(plain.stderr()).toContain(`port 1 ≠ ${originPort}`);
    const host = await replay([forwardRec, "--ignore-host"]);
    expect((await viaProxy(host.port, otherHost)).status).toBe(200);
    await host.stop();
    const port = await replay([forwardRec, "--ignore-port"]);
    expect((await viaProxy(port.port, otherPort)).status).toBe(200);
    await port.stop();
  });
});

describe("reflow replay --refresh", () => {
  /** The /dated flow, recorded `age` seconds earlier than it was (rewritten with `reflow run`). */
  function agedRecording(age: number): string {
    const out = join(dir, `aged-${age}.mitm`);
    const script = join(dir, "age.mjs");
    writeFileSync(script, `export function response(ctx, flow) { flow.response.timestampStart -= ${age}; }\n`);
    const r = reflow(["run", "-r", reverseRec, "-s", script, "-w", out, "~u /dated"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    return out;
  }

  it("moves Date and cookie expiry forward by the recording's age; --no-refresh leaves them", async () => {
    const age = 86_400;
    const rec = agedRecording(age);
    const r = await replay([rec, "-m", `reverse:http://127.0.0.1:${originPort}`, "--reuse"]);
    const fresh = await ask(r.port, "/dated");
    await r.stop();
    const shift = (Date.parse(header(fresh, "date")!) - Date.parse(OLD_DATE)) / 1000;
    expect(shift, "Date moved by the age (plus the seconds since recording)").toBeGreaterThanOrEqual(age);
    expect(shift).toBeLessThan(age + 600);
    const expires = /Expires=([^;]+)/i.exec(header(fresh, "set-cookie")!)![1]!;
    expect((Date.parse(expires) - Date.parse(OLD_DATE)) / 1000).toBe(shift);

    const kept = await replay([rec, "-m", `reverse:http://127.0.0.1:${originPort}`, "--no-refresh"]);
    const stale = await ask(kept.port, "/dated");
    await kept.stop();
    expect(header(stale, "date")).toBe(OLD_DATE);
    expect(header(stale, "set-cookie")).toBe(`sid=1; Expires=${OLD_DATE}; Path=/`);
  });
});

describe("reflow replay from a HAR file", () => {
  it("answers as from the mitm recording it was converted from", async () => {
    const har = join(dir, "reverse.har");
    expect(reflow(["convert", reverseRec, "-o", har]).status).toBe(0);
    const r = await answersInOrder(har);
    await r.stop();
  });
});

describe("reflow replay from a mitmdump 8.1.1 capture", () => {
  it("serves a response recorded without its body (cut off) as an empty one, framed so", async () => {
    const r = await replay([join(testdata, "captures", "real-v17-incomplete-body.mitm")]);
    const got = await curl(["-m", "5", "-i", "-x", `http://127.0.0.1:${r.port}`, "http://127.0.0.1:28474/chunked"]);
    await r.stop();
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout.toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*content-length: 0\r\n\r\n$/i);
  });

  it("serves every recorded answer of real-v17.mitm, bodies as recorded (--strict: none left)", async () => {
    const rec = join(testdata, "captures", "real-v17.mitm");
    // WebSocket flows are left out of replay: a recorded handshake cannot answer without its connection.
    const recorded = (await readCapture(rec)).filter((f) => f.type === "http" && (f as HTTPFlow).response && !(f as HTTPFlow).websocket) as HTTPFlow[];
    expect(recorded.length).toBeGreaterThan(3);
    const r = await replay([rec, "--strict"]);
    for (const f of recorded) {
      const got = await viaProxy(r.port, f.request.url, {
        method: f.request.method,
        headers: [...f.request.headers].flat(),
        body: f.request.rawContent ?? undefined,
      });
      expect(got.status, f.request.url).toBe(f.response!.statusCode);
      expect(got.body.equals(f.response!.rawContent ?? Buffer.alloc(0)), `body of ${f.request.url}`).toBe(true);
    }
    const end = await r.stop();
    expect(end.code, r.stderr()).toBe(0);
  });
});
