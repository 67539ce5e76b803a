#!/usr/bin/env node
/**
 * Server replay speed (issue 15): `reflow replay` and Debian's mitmdump 8.1.1 `-S`, both
 * answering as a forward proxy from the same 20,000-flow recording (the benchmark corpus),
 * measured with wrk (50 connections) sending the same recorded requests in turn, in the
 * same run. Both reuse answers (`--reuse` / `--server-replay-nopop`), so every request is a
 * hit however long the run. Also the time from start to listening with that recording.
 *
 *   node bench/replay.mjs [--corpus FILE] [--duration S] [--warmup S] [--connections N]
 *                         [--requests N] [--no-mitmdump] [--json FILE]
 */
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { cli, flag, opt, root } from "./harness.mjs";
import { freePort, start, waitForPort, workDir } from "./live-load.mjs";

const CORPUS = opt("--corpus", join(root, "bench", "out", "corpus.mitm"));
const DURATION = Number(opt("--duration", 10));
const WARMUP = Number(opt("--warmup", 2));
const CONNECTIONS = Number(opt("--connections", 50));
/** how many distinct recorded requests wrk sends in turn */
const REQUESTS = Number(opt("--requests", 2000));
const JSON_OUT = opt("--json", null);
const WITH_MITMDUMP = !flag("--no-mitmdump") && spawnSync("mitmdump", ["--version"]).status === 0;
if (spawnSync("wrk", ["--version"]).error) {
  console.error("wrk is needed (Debian: apt-get install wrk)");
  process.exit(2);
}
const work = workDir("reflow-bench-replay-");

/** The first REQUESTS distinct plain-HTTP GET requests of the recording that have an answer wrk can read. */
async function recordedRequests() {
  const show = spawn(process.execPath, [cli, "show", CORPUS, "--json"], { stdio: ["ignore", "pipe", "ignore"] });
  const seen = new Set();
  const out = [];
  for await (const line of createInterface({ input: show.stdout })) {
    const f = JSON.parse(line);
    const r = f.request;
    // No 101 (WebSocket handshakes are not replayed), 204 or 304: wrk waits for the body a
    // 204 or 304 with a Content-Length announces, which HTTP says is never sent (RFC 9110 §6.4.1).
    if (f.type !== "http" || !f.response || [101, 204, 304].includes(f.response.status_code) || r?.method !== "GET" || r.scheme !== "http" || r.body_size !== 0) continue;
    if (seen.has(r.url)) continue;
    seen.add(r.url);
    const host = r.headers.find(([n]) => n.toLowerCase() === "host")?.[1] ?? r.host;
    out.push({ url: r.url, host });
    if (out.length >= REQUESTS) break;
  }
  show.kill();
  return out;
}

/** A wrk script sending the requests in turn, in absolute-form (to a forward proxy). */
function wrkScript(requests) {
  const file = join(work, "requests.lua");
  const list = requests.map((r) => `{${JSON.stringify(r.url)}, ${JSON.stringify(r.host)}}`).join(",\n");
  writeFileSync(
    file,
    `local requests = {\n${list}\n}\nlocal i = 0\n` +
      `request = function()\n  i = i % #requests + 1\n  local r = requests[i]\n  return wrk.format("GET", r[1], { Host = r[2] })\nend\n`,
  );
  return file;
}

function wrk(port, script, seconds) {
  const r = spawnSync("wrk", ["-t2", `-c${CONNECTIONS}`, `-d${seconds}s`, "--latency", "-s", script, `http://127.0.0.1:${port}`], { encoding: "utf8" });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1] ?? 0);
  const p99 = /\s99%\s+([\d.]+\w+)/.exec(r.stdout)?.[1] ?? "?";
  const errors = [.../Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)/g.exec(r.stdout) ?? []][0] ?? "";
  return { rps, p99, errors };
}

async function measure(name, cmd, argv, port, script) {
  const started = performance.now();
  const p = start(cmd, argv);
  const startup = await waitForPort(port, { started, ms: 300_000, every: 20 });
  if (WARMUP > 0) wrk(port, script, WARMUP);
  const r = wrk(port, script, DURATION);
  await p.stop();
  console.log(`${name.padEnd(26)} ${r.rps.toFixed(0).padStart(8)} req/s   p99 ${r.p99.padStart(8)}   listening after ${startup.toFixed(2)} s ${r.errors ? `  (${r.errors})` : ""}`);
  return { ...r, startup };
}

const requests = await recordedRequests();
if (requests.length === 0) throw new Error(`${CORPUS} has no plain-HTTP GET requests with answers`);
const script = wrkScript(requests);
console.log(`server replay from ${CORPUS}: ${requests.length} recorded requests in turn, wrk ${CONNECTIONS} connections, ${DURATION} s`);
const confdir = join(work, "conf");
const results = {};
const reflowPort = await freePort();
results.reflow = await measure("reflow replay --reuse", process.execPath, [cli, "replay", CORPUS, "-p", String(reflowPort), "--reuse", "--confdir", confdir], reflowPort, script);
if (WITH_MITMDUMP) {
  const port = await freePort();
  const argv = ["-q", "--listen-host", "127.0.0.1", "-p", String(port), "-S", CORPUS, "--server-replay-nopop", "--set", "connection_strategy=lazy", "--set", `confdir=${confdir}-mitmproxy`];
  results.mitmdump = await measure("mitmdump -S --nopop", "mitmdump", argv, port, script);
  const ratio = results.reflow.rps / results.mitmdump.rps;
  console.log(`reflow / mitmdump: ${ratio.toFixed(1)}x (aim >= 8x)`);
  results.ratio = ratio;
}
if (JSON_OUT) writeFileSync(JSON_OUT, JSON.stringify(results, null, 2));
