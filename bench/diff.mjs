#!/usr/bin/env node
/**
 * Benchmark of `reflow diff` (issue 5): the 20,000-flow corpus against its add-header rewrite,
 * beside a plain `reflow convert` of both files in the same run (the cost of just reading
 * and writing them). Prints wall time, peak RSS and the ratio; aim: diff within 3× of convert.
 * Makes what it needs once: the corpus (with bench/run.mjs) and the rewrite (with reflow run).
 *
 *   node bench/diff.mjs [--runs N] [--json FILE]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "bench", "out");
const cli = join(root, "dist", "cli", "main.js");
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i === -1 ? dflt : args[i + 1];
};
const RUNS = Number(opt("--runs", 3));
mkdirSync(out, { recursive: true });

const corpus = join(out, "corpus.mitm");
if (!existsSync(corpus)) {
  console.error("making the corpus with bench/run.mjs (once) ...");
  execFileSync(
    process.execPath,
    [join(root, "bench", "run.mjs"), "--only", "cat", "--runs", "1", "--json", "/dev/null"],
    {
      stdio: "inherit",
    },
  );
}
const rewrite = join(out, "corpus-add-header.mitm");
if (!existsSync(rewrite) || statSync(rewrite).mtimeMs < statSync(corpus).mtimeMs) {
  console.error("making the add-header rewrite of the corpus with reflow run (once) ...");
  execFileSync(
    process.execPath,
    [cli, "run", "-r", corpus, "-s", join(root, "examples", "add-header.ts"), "-w", rewrite, "-q"],
    {
      stdio: "inherit",
    },
  );
}

/** Runs a shell command under GNU time; returns wall seconds, peak RSS in MB and the exit code. */
function measure(cmd, okCodes) {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", "sh", "-c", cmd], { encoding: "utf8", maxBuffer: 1 << 26 });
  const last = r.stderr.trim().split("\n").pop().split(" ");
  const code = Number(/exit status (\d+)/.exec(r.stderr)?.[1] ?? r.status);
  if (!okCodes.includes(code)) throw new Error(`failed (${code}): ${cmd}\n${r.stderr}`);
  return { secs: Number(last[0]), rssMB: Number(last[1]) / 1024, stdout: r.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = {};
function bench(name, cmd, okCodes = [0]) {
  const ms = Array.from({ length: RUNS }, () => measure(cmd, okCodes));
  results[name] = { secs: median(ms.map((m) => m.secs)), rssMB: Math.max(...ms.map((m) => m.rssMB)), runs: RUNS };
  const r = results[name];
  console.error(`  ${name.padEnd(34)} ${r.secs.toFixed(2).padStart(7)} s  ${r.rssMB.toFixed(0).padStart(5)} MB`);
  return ms[0].stdout;
}

const mb = (f) => (statSync(f).size / 1e6).toFixed(0);
console.error(
  `diff: ${corpus} (${mb(corpus)} MB) against ${rewrite} (${mb(rewrite)} MB); median of ${RUNS} runs, peak RSS`,
);
execFileSync("sh", ["-c", `cat '${corpus}' '${rewrite}' > /dev/null`]); // warm the page cache for both alike

const converted = join(out, "diff-convert-both.mitm");
bench("reflow convert A B (both files)", `node '${cli}' convert '${corpus}' '${rewrite}' -o '${converted}' -q`);
rmSync(converted, { force: true });
// exit 1 = differences found, as expected here
const stat = bench("reflow diff --stat", `node '${cli}' diff '${corpus}' '${rewrite}' --stat`, [1]);
bench("reflow diff (report)", `node '${cli}' diff '${corpus}' '${rewrite}' > /dev/null`, [1]);
bench("reflow diff --json", `node '${cli}' diff '${corpus}' '${rewrite}' --json > /dev/null`, [1]);
console.error(`  diff says: ${stat.trim().split("\n").join(" | ")}`);

const ratio = (a, b) => results[a].secs / results[b].secs;
const lines = [
  ["diff --stat / convert both", ratio("reflow diff --stat", "reflow convert A B (both files)"), "aim ≤ 3"],
  ["diff (report) / convert both", ratio("reflow diff (report)", "reflow convert A B (both files)"), "aim ≤ 3"],
  ["diff --json / convert both", ratio("reflow diff --json", "reflow convert A B (both files)"), "aim ≤ 3"],
  ["peak RSS, diff (MB)", results["reflow diff (report)"].rssMB, `inputs ${mb(corpus)} + ${mb(rewrite)} MB`],
  ["peak RSS, convert both (MB)", results["reflow convert A B (both files)"].rssMB, ""],
];
console.log("\nratio                                   value   note");
for (const [name, v, note] of lines) console.log(`${name.padEnd(38)} ${v.toFixed(2).padStart(7)}   ${note}`);
const jsonFile = opt("--json", join(out, "diff-results.json"));
writeFileSync(jsonFile, JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
