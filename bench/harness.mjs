/**
 * What every benchmark script shares: its options, timing a command under GNU time (after
 * removing its previous output and flushing dirty pages, so no tool pays for another's
 * writeback), medians over runs, and printing results and ratios.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..");
export const out = join(root, "bench", "out");
export const cli = join(root, "dist", "cli", "main.js");

const args = process.argv.slice(2);
/** The value after `--name` on the command line, or `dflt`. */
export const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i === -1 ? dflt : args[i + 1];
};
/** True when `--name` is on the command line. */
export const flag = (name) => args.includes(name);

/**
 * Runs a shell command under GNU time; returns wall seconds, peak RSS in MB and its stdout.
 * `warm` (an input) is read into the page cache first, so that every tool reads it from
 * memory: this machine's kernel reclaims idle pages (kdamond), and a 1 GB input read
 * minutes earlier came partly from disk, which swung a run from 0.7 s to 2.7 s.
 */
export function measure(cmd, { output, okCodes = [0], warm } = {}) {
  if (output) spawnSync("rm", ["-f", output]);
  if (warm) spawnSync("sh", ["-c", `cat '${warm}' > /dev/null`]);
  spawnSync("sync");
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", "sh", "-c", cmd], { encoding: "utf8", maxBuffer: 1 << 26 });
  const code = Number(/exit status (\d+)/.exec(r.stderr)?.[1] ?? r.status);
  if (!okCodes.includes(code)) throw new Error(`failed (${code}): ${cmd}\n${r.stderr}`);
  const last = r.stderr.trim().split("\n").pop().split(" ");
  return { secs: Number(last[0]), rssMB: Number(last[1]) / 1024, stdout: r.stdout };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Named results of one benchmark run. */
export class Results {
  all = {};

  /** Measures `cmd` `runs` times; keeps the median time and the highest peak RSS. Returns the first run's stdout. */
  bench(name, cmd, { runs = 3, output, okCodes, warm } = {}) {
    const ms = Array.from({ length: runs }, () => measure(cmd, { output, okCodes, warm }));
    const r = { secs: median(ms.map((m) => m.secs)), rssMB: Math.max(...ms.map((m) => m.rssMB)), runs };
    this.all[name] = r;
    console.error(`  ${name.padEnd(34)} ${r.secs.toFixed(2).padStart(7)} s  ${r.rssMB.toFixed(0).padStart(5)} MB`);
    return ms[0].stdout;
  }

  /** Time of `a` over time of `b`, when both were measured. */
  ratio(a, b) {
    return this.all[a] && this.all[b] ? this.all[a].secs / this.all[b].secs : undefined;
  }

  get(name) {
    return this.all[name];
  }
}

/** Prints `[name, value, note]` rows, skipping those not measured. */
export function printRatios(rows) {
  console.log("\nratio                                   value   note");
  for (const [name, v, note] of rows) if (v !== undefined) console.log(`${name.padEnd(38)} ${v.toFixed(2).padStart(7)}   ${note}`);
}
