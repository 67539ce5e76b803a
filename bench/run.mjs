#!/usr/bin/env node
/**
 * `make bench`: runs reflow and its peers (mitmdump 8.1.1, cat) on the same inputs in the
 * same run, and prints wall time, peak RSS and the ratios the spec's quality bars name.
 * Inputs: the 20,000-flow corpus of ../shared/tools/gen_corpus.py (made once, cached in
 * bench/out/), and a ~1 GB file made of copies of it for the memory bar.
 *
 *   node bench/run.mjs [--runs N] [--only NAME,...] [--no-mitmdump] [--json FILE]
 */
import { execFileSync, spawnSync } from "node:child_process";
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cli, flag, opt, out, Results, printRatios, root } from "./harness.mjs";

// Five: a job of a quarter second moves by 10% from run to run on this 2-core machine, and
// the median of three still swung a ratio across its bar.
const RUNS = Number(opt("--runs", 5));
const ONLY = opt("--only", "")?.split(",").filter(Boolean) ?? [];
const WITH_MITMDUMP = !flag("--no-mitmdump") && spawnSync("mitmdump", ["--version"]).status === 0;
mkdirSync(out, { recursive: true });

function corpus() {
  const file = join(out, "corpus.mitm");
  if (!existsSync(file)) {
    console.error("making the 20,000-flow corpus with mitmproxy's own writer (once) ...");
    execFileSync("/usr/bin/python3", [join(root, "..", "shared", "tools", "gen_corpus.py"), file, "20000", "7"], {
      stdio: "inherit",
    });
  }
  return file;
}

async function bigCorpus(src) {
  const file = join(out, "corpus-1g.mitm");
  const copies = Math.ceil(1e9 / statSync(src).size);
  if (!existsSync(file) || statSync(file).size !== copies * statSync(src).size) {
    const data = readFileSync(src);
    const ws = createWriteStream(file);
    for (let i = 0; i < copies; i++) if (!ws.write(data)) await new Promise((r) => ws.once("drain", r));
    await new Promise((r) => ws.end(r));
  }
  return file;
}

const results = new Results();
/** Measures `cmd` with its input `warm` in the page cache (the corpus unless told otherwise). */
function bench(name, cmd, runs = RUNS, output = undefined, warm = IN) {
  if (ONLY.length && !ONLY.some((o) => name.startsWith(o))) return;
  results.bench(name, cmd, { runs, output, warm });
}
const ratio = (a, b) => results.ratio(a, b);

const IN = corpus();
const size = statSync(IN).size;
console.error(`corpus: ${IN} (${(size / 1e6).toFixed(0)} MB, 20000 flows); median of ${RUNS} runs, peak RSS`);
execFileSync("sh", ["-c", `cat '${IN}' > /dev/null`]); // warm the page cache for everyone alike

const o = (name) => join(out, name);
const ADD_HEADER_TS = join(root, "examples", "add-header.ts");
const ADD_HEADER_PY = join(root, "examples", "add_header.py");
const FILTER = "~d api.example.org & ~m POST";

bench("cat", `cat '${IN}' > '${o("cat.mitm")}'`, RUNS, o("cat.mitm"));
bench("reflow convert (identity, v17)", `node '${cli}' convert '${IN}' -o '${o("conv.mitm")}' -q`, RUNS, o("conv.mitm"));
bench("reflow convert --flow-version 21", `node '${cli}' convert '${IN}' -o '${o("conv21.mitm")}' -q --flow-version 21`, RUNS, o("conv21.mitm"));
bench("reflow run add-header", `node '${cli}' run -r '${IN}' -s '${ADD_HEADER_TS}' -w '${o("run.mitm")}' -q`, RUNS, o("run.mitm"));
bench("reflow show --detail 1", `node '${cli}' show '${IN}' --detail 1 > '${o("show.txt")}'`, RUNS, o("show.txt"));
bench("reflow show filter pass", `node '${cli}' show '${IN}' --detail 0 '${FILTER}'`, RUNS);
// filtering into a file (issue 11's bar): a selective filter, its matches written
const FILE_FILTER = "~c 404 & ~d example";
bench("reflow run filter into file", `node '${cli}' run -r '${IN}' -w '${o("run-filter.mitm")}' -q '${FILE_FILTER}'`, RUNS, o("run-filter.mitm"));
bench("reflow convert --filter", `node '${cli}' convert '${IN}' -o '${o("conv-filter.mitm")}' -q --filter '${FILE_FILTER}'`, RUNS, o("conv-filter.mitm"));
// a rewrite rule without a script (issue 16's bar: at least as fast as the add-header script)
bench("reflow run --modify-headers", `node '${cli}' run -r '${IN}' --modify-headers '/~s/newheader/foo' -w '${o("run-rule.mitm")}' -q`, RUNS, o("run-rule.mitm"));

// reflow msgpack against mitm v21: the same flows, read and written in each format
const V21 = o("corpus-v21.mitm");
const PACKED = o("corpus.msgpack");
if (!ONLY.length || ONLY.some((w) => /msgpack|v21|jsonl/.test(w))) {
  execFileSync("node", [cli, "convert", IN, "-o", V21, "-q", "--flow-version", "21"]);
  execFileSync("node", [cli, "convert", V21, "-o", PACKED, "-q"]);
}
bench("reflow run add-header v21→v21", `node '${cli}' run -r '${V21}' -s '${ADD_HEADER_TS}' -w '${o("run-v21.mitm")}' -q`, RUNS, o("run-v21.mitm"), V21);
bench("reflow run add-header msgpack→msgpack", `node '${cli}' run -r '${PACKED}' -s '${ADD_HEADER_TS}' -w '${o("run.msgpack")}' -q`, RUNS, o("run.msgpack"), PACKED);
bench("reflow show --json v21", `node '${cli}' show '${V21}' --json > '${o("v21.jsonl")}'`, RUNS, o("v21.jsonl"), V21);
bench("reflow show --json msgpack", `node '${cli}' show '${PACKED}' --json > '${o("msgpack.jsonl")}'`, RUNS, o("msgpack.jsonl"), PACKED);
bench("reflow filter pass v21", `node '${cli}' show '${V21}' --detail 0 '${FILTER}'`, RUNS, undefined, V21);
bench("reflow filter pass msgpack", `node '${cli}' show '${PACKED}' --detail 0 '${FILTER}'`, RUNS, undefined, PACKED);
bench("reflow convert -o jsonl", `node '${cli}' convert '${IN}' -o '${o("conv.jsonl")}' -q`, RUNS, o("conv.jsonl"));
bench("reflow show --json", `node '${cli}' show '${IN}' --json > '${o("show.jsonl")}'`, RUNS, o("show.jsonl"));

// start-up: a TypeScript script on a one-flow file
const one = o("one.mitm");
execFileSync("node", [cli, "convert", join(root, "fixtures", "sample.mitm"), "-o", one, "-q", "--filter", "~c 404"]);
bench("reflow run startup (1 flow, .ts)", `node '${cli}' run -r '${one}' -s '${ADD_HEADER_TS}' -w '${o("one-out.mitm")}' -q`, 5, o("one-out.mitm"), one);

if (WITH_MITMDUMP) {
  bench("mitmdump -q -nr -w", `mitmdump -q -nr '${IN}' -w '${o("mitmdump.mitm")}'`, 1, o("mitmdump.mitm"));
  bench("mitmdump add_header.py", `mitmdump -q -nr '${IN}' -s '${ADD_HEADER_PY}' -w '${o("mitmdump-ah.mitm")}'`, 1, o("mitmdump-ah.mitm"));
  bench("mitmdump --flow-detail 1", `mitmdump -nr '${IN}' --flow-detail 1 > '${o("mitmdump-show.txt")}'`, 1, o("mitmdump-show.txt"));
  bench("mitmdump -q filter pass", `mitmdump -q -nr '${IN}' '${FILTER}'`, 1);
  bench("mitmdump -nr -w filter into file", `mitmdump -q -nr '${IN}' -w '${o("mitmdump-filter.mitm")}' '${FILE_FILTER}'`, 1, o("mitmdump-filter.mitm"));
}

const BIG = ONLY.length && !ONLY.some((o) => o.includes("1GB")) ? null : await bigCorpus(IN);
if (BIG) {
  console.error(`1 GB input: ${BIG} (${(statSync(BIG).size / 1e9).toFixed(2)} GB)`);
  // Each row's 1 GB output is removed once the row is done: gigabytes of earlier outputs left
  // in the page cache made a later row's writes cost up to twice the system time here.
  const bigBench = (name, cmd, output) => {
    bench(name, cmd, 3, output, BIG);
    spawnSync("rm", ["-f", output]);
  };
  bigBench("cat 1GB", `cat '${BIG}' > '${o("cat-1g.mitm")}'`, o("cat-1g.mitm"));
  bigBench("reflow convert 1GB (identity)", `node '${cli}' convert '${BIG}' -o '${o("conv-1g.mitm")}' -q`, o("conv-1g.mitm"));
  bigBench("reflow convert 1GB --flow-version 21", `node '${cli}' convert '${BIG}' -o '${o("conv-1g.mitm")}' -q --flow-version 21`, o("conv-1g.mitm"));
  bigBench("reflow run 1GB add-header", `node '${cli}' run -r '${BIG}' -s '${ADD_HEADER_TS}' -w '${o("run-1g.mitm")}' -q`, o("run-1g.mitm"));
}

const lines = [
  ["convert identity / cat", ratio("reflow convert (identity, v17)", "cat"), "aim ≤ 2"],
  ["convert to v21 / cat", ratio("reflow convert --flow-version 21", "cat"), ""],
  ["mitmdump -nr -w / convert identity", ratio("mitmdump -q -nr -w", "reflow convert (identity, v17)"), "reflow N× faster"],
  ["mitmdump add_header / reflow run add-header", ratio("mitmdump add_header.py", "reflow run add-header"), "aim ≥ 15"],
  ["run add-header / cat", ratio("reflow run add-header", "cat"), "aim ≤ 3"],
  ["mitmdump show / reflow show (level 1)", ratio("mitmdump --flow-detail 1", "reflow show --detail 1"), "aim ≥ 20"],
  ["mitmdump filter / reflow filter pass", ratio("mitmdump -q filter pass", "reflow show filter pass"), "aim ≥ 20"],
  ["mitmdump -w FILTER / reflow run -w FILTER", ratio("mitmdump -nr -w filter into file", "reflow run filter into file"), "aim ≥ 20"],
  ["mitmdump -w FILTER / reflow convert --filter", ratio("mitmdump -nr -w filter into file", "reflow convert --filter"), "aim ≥ 20"],
  ["run add-header / run --modify-headers", ratio("reflow run add-header", "reflow run --modify-headers"), "aim ≥ 1"],
  ["run add-header v21 / msgpack", ratio("reflow run add-header v21→v21", "reflow run add-header msgpack→msgpack"), "aim ≥ 1.5"],
  ["show --json v21 / msgpack", ratio("reflow show --json v21", "reflow show --json msgpack"), "msgpack N× faster"],
  ["filter pass v21 / msgpack", ratio("reflow filter pass v21", "reflow filter pass msgpack"), "msgpack N× faster"],
  ["convert -o jsonl / convert identity", ratio("reflow convert -o jsonl", "reflow convert (identity, v17)"), "aim ≤ 3"],
  ["show --json / convert identity", ratio("reflow show --json", "reflow convert (identity, v17)"), "aim ≤ 3"],
  ["start-up, run with a .ts script (s)", results.get("reflow run startup (1 flow, .ts)")?.secs, "aim < 0.5"],
  ["convert 1GB identity / cat 1GB", ratio("reflow convert 1GB (identity)", "cat 1GB"), "aim ≤ 2"],
  ["run add-header 1GB / cat 1GB", ratio("reflow run 1GB add-header", "cat 1GB"), "aim ≤ 3"],
  ["peak RSS, convert 1GB identity (MB)", results.get("reflow convert 1GB (identity)")?.rssMB, "aim < 150"],
  ["peak RSS, convert 1GB to v21 (MB)", results.get("reflow convert 1GB --flow-version 21")?.rssMB, "aim < 150"],
  ["peak RSS, run add-header 1GB (MB)", results.get("reflow run 1GB add-header")?.rssMB, "aim < 150"],
];
printRatios(lines);
const jsonFile = opt("--json", join(out, "results.json"));
writeFileSync(jsonFile, JSON.stringify({ date: new Date().toISOString(), corpusBytes: size, results: results.all }, null, 2));
