#!/usr/bin/env node
/**
 * Benchmark of `reflow diff` (issue 5): the 20,000-flow corpus against its add-header rewrite,
 * beside a plain `reflow convert` of both files in the same run (the cost of just reading
 * and writing them). Prints wall time, peak RSS and the ratio; aim: diff within 3× of convert.
 * Makes what it needs once: the corpus (with bench/run.mjs) and the rewrite (with reflow run).
 *
 *   node bench/diff.mjs [--runs N] [--json FILE]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, opt, out, Results, printRatios, root } from "./harness.mjs";

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

const measured = new Results();
const bench = (name, cmd, okCodes = [0], output = undefined) => measured.bench(name, cmd, { runs: RUNS, okCodes, output });
const results = measured.all;

const mb = (f) => (statSync(f).size / 1e6).toFixed(0);
console.error(
  `diff: ${corpus} (${mb(corpus)} MB) against ${rewrite} (${mb(rewrite)} MB); median of ${RUNS} runs, peak RSS`,
);
execFileSync("sh", ["-c", `cat '${corpus}' '${rewrite}' > /dev/null`]); // warm the page cache for both alike

const converted = join(out, "diff-convert-both.mitm");
bench("reflow convert A B (both files)", `node '${cli}' convert '${corpus}' '${rewrite}' -o '${converted}' -q`, [0], converted);
rmSync(converted, { force: true });
// exit 1 = differences found, as expected here
const stat = bench("reflow diff --stat", `node '${cli}' diff '${corpus}' '${rewrite}' --stat`, [1]);
bench("reflow diff (report)", `node '${cli}' diff '${corpus}' '${rewrite}' > /dev/null`, [1]);
bench("reflow diff --json", `node '${cli}' diff '${corpus}' '${rewrite}' --json > /dev/null`, [1]);
console.error(`  diff says: ${stat.trim().split("\n").join(" | ")}`);

const ratio = (a, b) => measured.ratio(a, b);
const lines = [
  ["diff --stat / convert both", ratio("reflow diff --stat", "reflow convert A B (both files)"), "aim ≤ 3"],
  ["diff (report) / convert both", ratio("reflow diff (report)", "reflow convert A B (both files)"), "aim ≤ 3"],
  ["diff --json / convert both", ratio("reflow diff --json", "reflow convert A B (both files)"), "aim ≤ 3"],
  ["peak RSS, diff (MB)", results["reflow diff (report)"].rssMB, `inputs ${mb(corpus)} + ${mb(rewrite)} MB`],
  ["peak RSS, convert both (MB)", results["reflow convert A B (both files)"].rssMB, ""],
];
printRatios(lines);
const jsonFile = opt("--json", join(out, "diff-results.json"));
writeFileSync(jsonFile, JSON.stringify({ date: new Date().toISOString(), results }, null, 2));
