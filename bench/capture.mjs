#!/usr/bin/env node
/**
 * Capture speed (spec §6): reflow capture and Debian's mitmdump 8.1.1, both writing a flow
 * file, measured with wrk (50 connections, 1 KB responses) in the same run, in reverse mode
 * and in forward mode, with the origin measured directly as the limit. Then requests/s
 * inside an intercepted HTTPS tunnel and new-host TLS handshakes/s (a Node load generator,
 * since wrk cannot CONNECT). Prints req/s, p99 and the ratios.
 *
 * Then requests/s over HTTP/2 on both sides: h2load (Debian nghttp2-client; it speaks to
 * no proxy, so each proxy runs in reverse mode to an h2 origin, the client speaking TLS
 * and h2 to the proxy).
 *
 * Each proxy gets an unmeasured wrk warm-up run first (--warmup S), the same for both.
 *
 *   node bench/capture.mjs [--duration S] [--warmup S] [--connections N] [--no-mitmdump] [--json FILE]
 *                          [--only reverse,forward,tunnel,handshake,h2]
 */
import { spawnSync } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { connect as netConnect } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { cli, flag, opt } from "./harness.mjs";
import { freePort, sleep, start, waitForPort, workDir } from "./live-load.mjs";

const DURATION = Number(opt("--duration", 10));
/** Every proxy gets the same short wrk run first (JIT warm, first connections made), not measured. */
const WARMUP = Number(opt("--warmup", 2));
const CONNECTIONS = Number(opt("--connections", 50));
const JSON_OUT = opt("--json", null);
/** The rows to run (default all): reverse, forward, tunnel, handshake, h2. */
const ONLY = new Set(opt("--only", "reverse,forward,tunnel,handshake,h2").split(","));
const WITH_MITMDUMP = !flag("--no-mitmdump") && spawnSync("mitmdump", ["--version"]).status === 0;
if (spawnSync("wrk", ["--version"]).error) {
  console.error("wrk is needed (Debian: apt-get install wrk)");
  process.exit(2);
}
const work = workDir("reflow-bench-capture-");

/** The origins: plain HTTP and HTTPS, 1 KB responses, in a process of their own. */
async function startOrigins() {
  const [http, https, h2] = [await freePort(), await freePort(), await freePort()];
  // Both proxies are told not to verify the origin (-k, --ssl-insecure): a self-signed
  // P-256 certificate, the kind reflow's CA issues, will do.
  const [key, cert] = [join(work, "origin-key.pem"), join(work, "origin-cert.pem")];
  const made = spawnSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
  ]);
  if (made.status !== 0) throw new Error(`openssl could not make the origin's certificate: ${made.stderr}`);
  const src = `
    import { readFileSync } from "node:fs";
    import { createServer } from "node:http";
    import { createServer as createHttps } from "node:https";
    const body = Buffer.alloc(1024, "x");
    const handler = (req, res) => { req.resume(); res.writeHead(200, { "content-type": "text/plain", "content-length": body.length }); res.end(body); };
    createServer({ keepAliveTimeout: 60000 }, handler).listen(${http}, "127.0.0.1");
    const tls = { key: readFileSync(${JSON.stringify(key)}), cert: readFileSync(${JSON.stringify(cert)}) };
    createHttps({ ...tls, keepAliveTimeout: 60000 }, handler).listen(${https}, "127.0.0.1");
    const { createSecureServer } = await import("node:http2");
    createSecureServer({ ...tls, allowHTTP1: true }, handler).listen(${h2}, "127.0.0.1");
  `;
  const file = join(work, "origins.mjs");
  writeFileSync(file, src);
  const p = start(process.execPath, [file]);
  await waitForPort(http);
  await waitForPort(https);
  await waitForPort(h2);
  return { http, https, h2, stop: () => p.stop() };
}

/** wrk against `url`; `proxyTarget` turns requests into absolute-form (a forward proxy). */
function wrk(url, proxyTarget = null, seconds = DURATION) {
  const argv = ["-t2", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency"];
  if (proxyTarget) {
    const lua = join(work, "absolute.lua");
    writeFileSync(lua, `wrk.path = ${JSON.stringify(proxyTarget)}\n`);
    argv.push("-s", lua);
  }
  const r = spawnSync("wrk", [...argv, url], { encoding: "utf8" });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0);
  const p99 = parseLatency(/\s99%\s+([\d.]+\w+)/.exec(r.stdout)?.[1]);
  const errors = /Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/.exec(r.stdout)?.[0] ?? "";
  return { rps, p99, errors };
}

/** h2load over HTTP/2 (10 connections, 10 streams each) against `url`: req/s and the mean request time. */
function h2load(url, seconds = DURATION) {
  const r = spawnSync("h2load", ["-c", "10", "-m", "10", "-t", "2", "-D", String(seconds), url], { encoding: "utf8" });
  const rps = Number(/finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(r.stdout)?.[1] ?? 0);
  const failed = /requests: .*?(\d+) failed/.exec(r.stdout)?.[1] ?? "?";
  // h2load reports no percentiles: the mean time for a request stands in for p99 here.
  const mean = /time for request:\s+\S+\s+\S+\s+(\S+)/.exec(r.stdout)?.[1];
  return { rps, p99: parseLatency(mean), errors: failed === "0" ? "" : `${failed} failed` };
}

function parseLatency(text) {
  if (!text) return NaN;
  const m = /^([\d.]+)(us|ms|s)$/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000 }[m[2]];
}

function percentile(sorted, p) {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] : NaN;
}

/** A CONNECT tunnel, then TLS (any certificate accepted: the proxies' CAs are not installed). */
function tunnel(proxyPort, port, servername) {
  return new Promise((resolve, reject) => {
    const s = netConnect(proxyPort, "127.0.0.1", () => s.write(`CONNECT 127.0.0.1:${port} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`));
    s.once("error", reject);
    s.once("data", (d) => {
      if (!/^HTTP\/1\.[01] 200/.test(d.toString("latin1"))) return reject(new Error(`CONNECT: ${d}`));
      const t = tlsConnect({ socket: s, servername, rejectUnauthorized: false, ALPNProtocols: ["http/1.1"] }, () => resolve(t));
      t.once("error", reject);
    });
  });
}

/** One keep-alive GET over a TLS socket; resolves when the 1 KB response is in. */
function get(t) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      const len = Number(/content-length:\s*(\d+)/i.exec(buf.toString("latin1", 0, end))?.[1] ?? 0);
      if (buf.length >= end + 4 + len) {
        t.removeListener("data", onData);
        t.removeListener("error", reject);
        resolve();
      }
    };
    t.on("data", onData);
    t.once("error", reject);
    t.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  });
}

/** Requests/s and p99 inside intercepted HTTPS tunnels (keep-alive, `conns` tunnels). */
async function tunnelLoad(proxyPort, httpsPort, conns = 20) {
  const sockets = await Promise.all(Array.from({ length: conns }, () => tunnel(proxyPort, httpsPort, undefined)));
  const lat = [];
  const until = Date.now() + DURATION * 1000;
  await Promise.all(
    sockets.map(async (t) => {
      while (Date.now() < until) {
        const t0 = performance.now();
        await get(t);
        lat.push(performance.now() - t0);
      }
      t.destroy();
    }),
  );
  lat.sort((a, b) => a - b);
  return { rps: lat.length / DURATION, p99: percentile(lat, 99) };
}

/** New-host handshakes/s: each connection a new SNI (a new certificate), one request, closed. */
async function handshakeLoad(proxyPort, httpsPort, conns = 8) {
  let n = 0;
  const lat = [];
  const until = Date.now() + DURATION * 1000;
  const tag = Math.random().toString(36).slice(2, 8);
  await Promise.all(
    Array.from({ length: conns }, async () => {
      while (Date.now() < until) {
        const t0 = performance.now();
        const t = await tunnel(proxyPort, httpsPort, `h${n++}-${tag}.bench.test`);
        await get(t);
        t.destroy();
        lat.push(performance.now() - t0);
      }
    }),
  );
  lat.sort((a, b) => a - b);
  return { rps: lat.length / DURATION, p99: percentile(lat, 99) };
}

async function reflowCapture(mode, file, extra = []) {
  const confdir = join(work, "reflow-conf");
  const p = start(process.execPath, [cli, "capture", "-p", "0", "--listen-host", "127.0.0.1", "-m", mode, "-w", file, "-q", "--confdir", confdir, ...extra]);
  for (let i = 0; i < 200 && !/listening at http:\/\/127\.0\.0\.1:(\d+)/.test(p.stderr()); i++) await sleep(50);
  const port = Number(/listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(p.stderr())?.[1]);
  if (!port) throw new Error(`reflow capture did not start:\n${p.stderr()}`);
  return { port, stop: () => p.stop() };
}

async function mitmdump(mode, file, extra = []) {
  const port = await freePort();
  const p = start("mitmdump", ["-q", "--listen-host", "127.0.0.1", "-p", String(port), "-m", mode, "-w", file, "--set", `confdir=${join(work, "mitm-conf")}`, ...extra]);
  await waitForPort(port);
  return { port, stop: () => p.stop() };
}

function flowFileSize(file) {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

const results = [];
function report(name, r, note = "") {
  results.push({ name, ...r });
  const p99 = Number.isFinite(r.p99) ? `${r.p99.toFixed(2)} ms` : "-";
  console.log(`${name.padEnd(44)} ${r.rps.toFixed(0).padStart(8)} req/s   p99 ${p99.padStart(10)}  ${note}`);
}

const origins = await startOrigins();
console.log(
  `capture bench: wrk -t2 -c${CONNECTIONS} -d${DURATION}s (after a ${WARMUP}s warm-up each), 1 KB responses; ${WITH_MITMDUMP ? "with" : "WITHOUT"} mitmdump 8.1.1\n`,
);

let direct = null;
if (ONLY.has("reverse") || ONLY.has("forward")) {
  if (WARMUP) wrk(`http://127.0.0.1:${origins.http}/`, null, WARMUP);
  direct = wrk(`http://127.0.0.1:${origins.http}/`);
  report("origin, directly (the limit)", direct);
}

const pairs = {};
for (const [label, modeOf, viaProxy] of [
  ["reverse", () => `reverse:http://127.0.0.1:${origins.http}`, false],
  ["forward", () => "regular", true],
]) {
  if (!ONLY.has(label)) continue;
  const target = `http://127.0.0.1:${origins.http}/`;
  const file = join(work, `reflow-${label}.mitm`);
  const r = await reflowCapture(modeOf(), file);
  if (WARMUP) wrk(`http://127.0.0.1:${r.port}/`, viaProxy ? target : null, WARMUP);
  const rr = wrk(`http://127.0.0.1:${r.port}/`, viaProxy ? target : null);
  await r.stop();
  report(`reflow capture -w, ${label}`, rr, `${(flowFileSize(file) / 1e6).toFixed(1)} MB written ${rr.errors}`);
  pairs[label] = { reflow: rr };
  if (WITH_MITMDUMP) {
    const mfile = join(work, `mitmdump-${label}.mitm`);
    const m = await mitmdump(modeOf(), mfile);
    if (WARMUP) wrk(`http://127.0.0.1:${m.port}/`, viaProxy ? target : null, WARMUP);
    const mr = wrk(`http://127.0.0.1:${m.port}/`, viaProxy ? target : null);
    await m.stop();
    report(`mitmdump -w, ${label}`, mr, `${(flowFileSize(mfile) / 1e6).toFixed(1)} MB written ${mr.errors}`);
    pairs[label].mitmdump = mr;
  }
}

// HTTPS interception: requests inside tunnels, and handshakes with new hosts.
if (ONLY.has("tunnel") || ONLY.has("handshake")) {
  const r = await reflowCapture("regular", join(work, "reflow-tls.mitm"), ["-k"]);
  if (ONLY.has("tunnel")) report("reflow capture -w, HTTPS tunnel requests", await tunnelLoad(r.port, origins.https));
  if (ONLY.has("handshake")) report("reflow capture -w, new-host TLS handshakes", await handshakeLoad(r.port, origins.https), "(conn + TLS + 1 request)");
  await r.stop();
  if (WITH_MITMDUMP) {
    const m = await mitmdump("regular", join(work, "mitmdump-tls.mitm"), ["--ssl-insecure"]);
    if (ONLY.has("tunnel")) report("mitmdump -w, HTTPS tunnel requests", await tunnelLoad(m.port, origins.https));
    if (ONLY.has("handshake")) report("mitmdump -w, new-host TLS handshakes", await handshakeLoad(m.port, origins.https), "(conn + TLS + 1 request)");
    await m.stop();
  }
}
// HTTP/2 on both sides (h2load speaks to no proxy: reverse mode, TLS and h2 from the client).
const h2Available = !spawnSync("h2load", ["--version"]).error;
if (ONLY.has("h2") && !h2Available) console.log("h2load missing (Debian: apt-get install nghttp2-client): no HTTP/2 row");
if (ONLY.has("h2") && h2Available) {
  const mode = `reverse:https://127.0.0.1:${origins.h2}`;
  const r = await reflowCapture(mode, join(work, "reflow-h2.mitm"), ["-k"]);
  if (WARMUP) h2load(`https://127.0.0.1:${r.port}/`, WARMUP);
  const rr = h2load(`https://127.0.0.1:${r.port}/`);
  await r.stop();
  report("reflow capture -w, HTTP/2 (reverse, h2load)", rr, `(mean, not p99) ${rr.errors}`);
  if (WITH_MITMDUMP) {
    const m = await mitmdump(mode, join(work, "mitmdump-h2.mitm"), ["--ssl-insecure"]);
    if (WARMUP) h2load(`https://127.0.0.1:${m.port}/`, WARMUP);
    const mr = h2load(`https://127.0.0.1:${m.port}/`);
    await m.stop();
    report("mitmdump -w, HTTP/2 (reverse, h2load)", mr, `(mean, not p99) ${mr.errors}`);
  }
}
await origins.stop();

if (WITH_MITMDUMP) {
  console.log("\nratios (reflow / mitmdump; spec §6 asks for at least 8x req/s and a lower p99):");
  const line = (name, a, b) =>
    console.log(`  ${name.padEnd(28)} ${(a.rps / b.rps).toFixed(1).padStart(5)}x req/s   p99 ${a.p99.toFixed(1)} vs ${b.p99.toFixed(1)} ms${a.rps >= 8 * b.rps && a.p99 < b.p99 ? "   OK" : "   below the bar"}`);
  for (const label of Object.keys(pairs)) line(label, pairs[label].reflow, pairs[label].mitmdump);
  const byName = (n) => results.find((x) => x.name === n);
  if (ONLY.has("tunnel")) line("HTTPS tunnel requests", byName("reflow capture -w, HTTPS tunnel requests"), byName("mitmdump -w, HTTPS tunnel requests"));
  if (ONLY.has("h2") && h2Available)
    line("HTTP/2 requests (mean time)", byName("reflow capture -w, HTTP/2 (reverse, h2load)"), byName("mitmdump -w, HTTP/2 (reverse, h2load)"));
  if (ONLY.has("handshake")) line("new-host TLS handshakes", byName("reflow capture -w, new-host TLS handshakes"), byName("mitmdump -w, new-host TLS handshakes"));
  for (const label of Object.keys(pairs)) console.log(`  reflow ${label} at ${((pairs[label].reflow.rps / direct.rps) * 100).toFixed(0)}% of the origin's own req/s`);
}
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(results, null, 2));

