/**
 * `reflow replay --client` end to end: a recording made with `reflow capture`, sent again to
 * the same backend (diff finds nothing), to a changed one (diff finds what changed), to none
 * (error flows), over TLS (verified unless -k) and through an upstream proxy.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Listening,
  httpFlows,
  httpOrigin,
  httpsOrigin,
  killStrayCaptures,
  originCa,
  readCapture,
  startCapture,
  tempDir,
  viaProxy,
} from "../proxy/capture-harness.js";
import type { HTTPFlow } from "../../src/model/index.js";
import { cliPath, reflowAsync, testdata } from "../helpers.js";

const dir = tempDir("reflow-client-replay-");
const rec = join(dir, "recorded.mitm");
const secureRec = join(dir, "secure.mitm");
let originPort = 0;

/** The backend: deterministic answers (no Date), `/b` changes with `version`. */
function backend(version: number) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      res.sendDate = false;
      res.setHeader("content-type", "application/json");
      if (req.url?.startsWith("/b")) return void res.end(JSON.stringify({ version, items: [1, 2, version] }));
      res.end(JSON.stringify({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString() }));
    });
  };
}

/** Listens on `port` again (the recorded backend, unchanged, back at its address). */
async function relisten(port: number, handler: ReturnType<typeof backend>): Promise<Listening<import("node:http").Server>> {
  const server = createServer(handler);
  await new Promise<void>((r) => server.listen(port, "127.0.0.1", r));
  return { server, port, close: () => new Promise((r) => server.close(() => r())) };
}

let tlsCertFile = "";
let secureOrigin: Listening<import("node:http").Server>;

beforeAll(async () => {
  const origin = await httpOrigin(backend(1));
  originPort = origin.port;
  const cap = await startCapture(["-m", `reverse:http://127.0.0.1:${originPort}`, "-w", rec, "-q"]);
  const host = ["Host", `127.0.0.1:${cap.port}`];
  await viaProxy(cap.port, "/a", { headers: host });
  await viaProxy(cap.port, "/b?x=1", { headers: host });
  await viaProxy(cap.port, "/echo", { method: "POST", headers: [...host, "content-type", "text/plain"], body: "hello" });
  await viaProxy(cap.port, "/a", { headers: host });
  expect((await cap.stop()).code).toBe(0);
  await origin.close();

  const tls = await originCa();
  tlsCertFile = tls.certFile;
  secureOrigin = await httpsOrigin(tls.ca, backend(1));
  const secureCap = await startCapture(["-m", `reverse:https://localhost:${secureOrigin.port}`, "-w", secureRec, "-q", "-k"]);
  await viaProxy(secureCap.port, "/a", { headers: ["Host", "localhost"] });
  expect((await secureCap.stop()).code).toBe(0);
}, 60_000);

afterAll(async () => {
  killStrayCaptures();
  await secureOrigin?.close();
});

describe("reflow replay --client", () => {
  it("against the unchanged backend: the same ids, marked as replays, and diff finds them equal", async () => {
    const backendAgain = await relisten(originPort, backend(1));
    const out = join(dir, "again.mitm");
    const r = await reflowAsync(["replay", "--client", rec, "-w", out]);
    await backendAgain.close();
    expect(r.status, r.stderr.toString()).toBe(0);
    const [before, after] = [await httpFlows(rec), await httpFlows(out)];
    expect(after.map((f) => f.id)).toEqual(before.map((f) => f.id));
    expect(after.every((f) => f.isReplay === "request" && f.response?.statusCode === 200)).toBe(true);
    const diff = await reflowAsync(["diff", rec, out, "--by", "request"]);
    expect(diff.status, diff.stdout.toString()).toBe(0);
  });

  it("-m reverse:URL sends to a new base URL; --concurrency keeps the recorded order; diff shows the change", async () => {
    const changed = await httpOrigin(backend(2));
    const out = join(dir, "changed.mitm");
    const r = await reflowAsync(["replay", "--client", rec, "-m", `reverse:http://127.0.0.1:${changed.port}`, "--concurrency", "3", "-w", out]);
    await changed.close();
    expect(r.status, r.stderr.toString()).toBe(0);
    const flows = await httpFlows(out);
    expect(flows.map((f) => f.request.path)).toEqual(["/a", "/b?x=1", "/echo", "/a"]);
    expect(flows.every((f) => f.serverConn.address?.[1] === changed.port), "sent to the new base URL").toBe(true);
    expect(JSON.parse(flows[2]!.response!.text!).body).toBe("hello");
    // The flows keep the recorded request, so diff pairs them by request and shows only what the backend changed.
    const diff = await reflowAsync(["diff", rec, out, "--by", "request", "--json"]);
    expect(diff.status).toBe(1);
    const doc = JSON.parse(diff.stdout.toString()) as { flows: { status: string; changes: { field: string; path?: string }[] }[] };
    expect(doc.flows.map((f) => f.status), "every flow paired").toEqual(["changed"]);
    expect(doc.flows[0]!.changes.map((c) => `${c.field} ${c.path ?? ""}`.trim())).toEqual(["response.body $.version", "response.body $.items[2]"]);
  });

  it("rewrite rules change each request sent and each response received, and the flows written", async () => {
    const backendAgain = await relisten(originPort, backend(1));
    const out = join(dir, "rewritten.mitm");
    const rules = ["--modify-body", "/~q/hello/bye", "--modify-headers", "/~s/x-replayed/yes", "--redact", "$.url"];
    const r = await reflowAsync(["replay", "--client", rec, "-w", out, ...rules]);
    await backendAgain.close();
    expect(r.status, r.stderr.toString()).toBe(0);
    const echo = (await httpFlows(out))[2]!;
    expect(echo.request.text, "the request as sent").toBe("bye");
    const answer = JSON.parse(echo.response!.text!);
    expect(answer.body, "the server got the rewritten request").toBe("bye");
    expect(answer.url, "--redact on the response received").toBe("REDACTED");
    expect(echo.response!.headers.get("x-replayed"), "--modify-headers on the response received").toBe("yes");
  });

  it("a backend that is gone gives error flows, in place, and exit 1", async () => {
    const out = join(dir, "gone.mitm");
    const r = await reflowAsync(["replay", "--client", rec, "-w", out]);
    expect(r.status, r.stderr.toString()).toBe(1);
    const flows = await httpFlows(out);
    expect(flows.map((f) => [f.request.path, f.response, f.error?.msg.endsWith("(E_UPSTREAM_REFUSED)")])).toEqual([
      ["/a", null, true],
      ["/b?x=1", null, true],
      ["/echo", null, true],
      ["/a", null, true],
    ]);
  });

  it("a backend's broken answer is quoted with its controls escaped", async () => {
    // a status line holding an OSC title, a C1 CSI and a bidi override: the failure quotes it
    const hostile = createNetServer((socket) => {
      socket.once("data", () => socket.end(Buffer.from("HTTP/9\x1b]0;pwned\x07\u009b2J\u202eRTL 200\r\n\r\n", "utf8")));
      socket.on("error", () => {});
    });
    await new Promise<void>((r) => hostile.listen(0, "127.0.0.1", r));
    const port = (hostile.address() as AddressInfo).port;
    const r = await reflowAsync(["replay", "--client", rec, "-m", `reverse:http://127.0.0.1:${port}`, "-w", join(dir, "broken.mitm")]);
    await new Promise<void>((r) => hostile.close(() => r()));
    const err = r.stderr.toString();
    expect(r.status, `no answer to a request: ${err}`).toBe(1);
    expect(err, "the status line quoted").toContain("]0;pwned");
    expect(err).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
  });

  it("a damaged recording: the flows before the damage are replayed and written, then exit 3", async () => {
    const whole = readFileSync(rec);
    const cut = join(dir, "cut.mitm");
    writeFileSync(cut, whole.subarray(0, whole.length - 10));
    const out = join(dir, "cut-replayed.mitm");
    const r = await reflowAsync(["replay", "--client", cut, "-w", out]);
    expect(r.status, r.stderr.toString()).toBe(3);
    expect((await httpFlows(out)).map((f) => f.request.path)).toEqual(["/a", "/b?x=1", "/echo"]);
  });

  it("flows that cannot be sent again (WebSocket, TCP, UDP, DNS) are written as recorded, in place", async () => {
    const tflows = join(testdata, "captures", "tflow-v21.mitm");
    const out = join(dir, "tflows.mitm");
    const r = await reflowAsync(["replay", "--client", tflows, "-w", out, "--timeout", "2"]);
    expect(r.status, `its HTTP flows' servers do not exist: ${r.stderr}`).toBe(1);
    const [before, after] = [await readCapture(tflows), await readCapture(out)];
    expect(after.map((f) => f.id)).toEqual(before.map((f) => f.id));
    const kept = before.filter((f) => f.type !== "http" || (f as HTTPFlow).websocket).map((f) => f.id);
    expect(kept.length).toBeGreaterThan(1);
    const diff = JSON.parse((await reflowAsync(["diff", tflows, out, "--json"])).stdout.toString()) as { flows: { a: string }[] };
    expect(diff.flows.filter((f) => kept.includes(f.a)), "kept flows are the same").toEqual([]);
  });

  it("verifies the server's certificate unless -k", async () => {
    const verified = join(dir, "verified.mitm");
    await reflowAsync(["replay", "--client", secureRec, "-w", verified]);
    expect((await httpFlows(verified))[0]!.error?.msg).toMatch(/\(E_UPSTREAM_TLS\)$/);
    const trusted = join(dir, "trusted.mitm");
    // The test CA trusted through Node's own variable: verification on, and passing.
    await new Promise((resolve) =>
      spawn(process.execPath, [cliPath, "replay", "--client", secureRec, "-w", trusted], {
        env: { ...process.env, NODE_EXTRA_CA_CERTS: tlsCertFile },
      }).once("close", resolve),
    );
    expect((await httpFlows(trusted))[0]!.response?.statusCode).toBe(200);
    const insecure = join(dir, "insecure.mitm");
    await reflowAsync(["replay", "--client", secureRec, "-k", "-w", insecure]);
    expect((await httpFlows(insecure))[0]!.response?.statusCode).toBe(200);
  });

  it("-m upstream:URL sends through another proxy", async () => {
    const backendAgain = await relisten(originPort, backend(1));
    const seen = join(dir, "seen-by-upstream.mitm");
    const upstream = await startCapture(["-w", seen, "-q"]);
    const out = join(dir, "via-upstream.mitm");
    const r = await reflowAsync(["replay", "--client", rec, "-m", `upstream:http://127.0.0.1:${upstream.port}`, "-w", out]);
    await upstream.stop();
    await backendAgain.close();
    expect(r.status, r.stderr.toString()).toBe(0);
    expect((await httpFlows(out)).map((f) => f.response?.statusCode)).toEqual([200, 200, 200, 200]);
    expect((await httpFlows(seen)).map((f) => f.request.path)).toEqual(["/a", "/b?x=1", "/echo", "/a"]);
  });
});
