/**
 * reflow's filters against mitmproxy 8.1.1's own `flowfilter`: for each expression, the ids
 * of the flows it matches must be the same, over the shared test data (converted to v17 by
 * `reflow convert`, since 8.1.1 reads no newer format), a generated corpus, and a set of
 * edge-case flows. 8.1.1 matches case-sensitively (but `~m` and `~d`), so reflow is run with
 * `caseSensitive: true`, and case-insensitively for the cases marked `ignoreCase`.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseFilter } from "../../src/filter/index.js";
import { readFlowRecords, readFlows } from "../../src/io/flow-source.js";
import type { Flow } from "../../src/model/index.js";
import { allMitmFiles, hasMitmdump, projectRoot, reflow } from "../helpers.js";

const PYTHON = "/usr/bin/python3";
const peerScript = join(projectRoot, "test", "interop", "filter-peer.py");
const edgeScript = join(projectRoot, "test", "interop", "make-filter-flows.py");
const corpusScript = join(projectRoot, "..", "shared", "tools", "gen_corpus.py");

interface Case {
  expr: string;
  /** compare with reflow's default case-insensitive regexes (8.1.1's `~m`/`~d` ignore case) */
  ignoreCase?: boolean;
}

/** Every operator, quoting, grouping, negation and the precedence rules. */
const CASES: Case[] = [
  // operators without an argument
  ...[
    "~all",
    "~a",
    "~e",
    "~http",
    "~websocket",
    "~tcp",
    "~dns",
    "~q",
    "~s",
    "~marked",
    "~replay",
    "~replayq",
    "~replays",
  ].map((expr) => ({ expr })),
  // bodies: decoded (gzip, deflate, br, zstd), WebSocket and TCP messages, DNS
  { expr: "~b alpha" },
  { expr: "~b hello" },
  { expr: "~bq user=" },
  { expr: "~bs items" },
  { expr: "~bq ." },
  { expr: "~bs ." },
  { expr: '~b "^{"' },
  { expr: "~bs grüß" },
  { expr: '~bs "not really"' },
  { expr: '~bs "\\\\x89PNG"' },
  { expr: '~b "\\\\x00\\\\x01"' },
  { expr: "~bq '\"k\":'" },
  { expr: "~dns & ~b dns" },
  // headers and content types
  { expr: "~h nginx" },
  { expr: '~h "^Server: nginx"' },
  { expr: '~h "content-type: text"' },
  { expr: "~hq Cookie" },
  { expr: '~hq "User-Agent: curl/8"' },
  { expr: '~hs "Set-Cookie: a=1"' },
  { expr: '~h "X-Mixed-Case: VaLuE"' },
  { expr: "~t json" },
  { expr: '~t "charset=utf-8"' },
  { expr: "~tq form" },
  { expr: '~ts "text/html"' },
  { expr: "~ts CSS" },
  // request line, addresses, URL
  { expr: "~m POST", ignoreCase: true },
  { expr: '~m "^(PUT|PATCH)$"' },
  { expr: "~m post", ignoreCase: true },
  { expr: "~d example", ignoreCase: true },
  { expr: '~d "^cdn\\\\.test$"' },
  { expr: "~d xn--" },
  { expr: "~d virtual", ignoreCase: true },
  { expr: "~d localhost" },
  { expr: "~u /alpha/" },
  { expr: '~u "^https://xn--bcher"' },
  { expr: '~u "^http://Virtual.Example:8080/$"' },
  { expr: '~u "dns\\\\.google"' },
  { expr: "~u 127.0.0.1" },
  { expr: "page=3" },
  { expr: '"q=beta"' },
  { expr: "'/plain'" },
  { expr: "~src 127.0.0.1" },
  { expr: '~src "^::1:51000$"' },
  { expr: '~src "^::ffff"' },
  { expr: "~dst :443" },
  { expr: '~dst "^address:22$"' },
  // codes, markers, comments, metadata (Python's str() of each value)
  { expr: "~c 200" },
  { expr: "~c 101" },
  { expr: "~c 404" },
  { expr: "~marker star" },
  { expr: '~marker "^:red_circle:$"' },
  { expr: "~marker 😀" },
  { expr: "~comment note" },
  { expr: '~comment "^second"' },
  { expr: '~comment "line$"' },
  { expr: '~comment "^note (alpha|beta)"' },
  { expr: "~meta ." },
  { expr: '~meta "websocket: True"' },
  { expr: '~meta "^whole: 2\\\\.0$"' },
  { expr: '~meta "^none: None$"' },
  { expr: "~meta \"nested: \\\\{'k': \\\\[None, False\\\\]\\\\}\"" },
  { expr: "~meta \"list: \\\\[1, 'x'\"" },
  { expr: '~meta "^big: 100000000000000000000$"' },
  // not, and, or, grouping, and juxtaposition (the loosest AND)
  { expr: "!~s" },
  { expr: "! ~s" },
  { expr: "!!~s" },
  { expr: "!~http" },
  { expr: "~s & ~c 200" },
  { expr: "~q | ~e" },
  { expr: "~m POST | ~m PUT & ~t json", ignoreCase: true },
  { expr: "(~m POST | ~m PUT) & ~t json" },
  { expr: "~u alpha ~u beta | ~u gamma" },
  { expr: "~u alpha | ~u beta ~c 200" },
  { expr: "~c 304 | ~c 500 ~m GET" },
  { expr: "!(~c 200 | ~c 404)" },
  { expr: "!(~http & ~s ) & !~tcp" },
  { expr: "!~q & !~e" },
  { expr: "~websocket | ~tcp | ~dns" },
  { expr: "~websocket & ~bs alpha" },
  { expr: "~ts image & ~a" },
  { expr: "~a & !~ts image" },
  { expr: '~marked & ~marker ":star:"' },
  { expr: "~b alpha & !~bs alpha" },
  // where `!`, `&` and `|` are plain regex characters
  { expr: "~u index|~u missing" },
  { expr: "~q |" },
  { expr: "& ~s" },
  { expr: "!!" },
  { expr: "a&b" },
];

/** Expressions both must refuse. */
const MALFORMED = ["~c200", "~q~s", "~u", "a)", "~bq (?i)user", "~x", '"abc', "~s!", "~q&~s", " ", "~c", "(~q | ~s"];

interface PeerAnswer {
  flows: string[];
  results: ({ expr: string; ids: string[]; crashed: string[] } | { expr: string; error: string })[];
}

function askPeer(file: string, exprs: string[]): PeerAnswer {
  const r = spawnSync(PYTHON, [peerScript, file], { input: JSON.stringify(exprs), maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`filter-peer.py failed: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as PeerAnswer;
}

/** True when the file is in format 17 (older ones 8.1.1 migrates its own way, which is not under test). */
async function isVersion17(file: string): Promise<boolean> {
  for await (const record of readFlowRecords(file)) return record.storedVersion === 17;
  return false;
}

async function flowsOf(file: string): Promise<Flow[]> {
  const flows: Flow[] = [];
  for await (const f of readFlows(file)) flows.push(f);
  return flows;
}

interface Dataset {
  flows: Flow[];
  peer: Map<string, { ids: string[]; crashed: string[] } | { error: string }>;
}

const DATASETS = ["testdata", "corpus", "edge"] as const;
const run = hasMitmdump();

describe.skipIf(!run)("filters match the flows mitmproxy 8.1.1 matches", () => {
  const datasets = new Map<string, Dataset>();
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "reflow-filter-peer-"));
    const files: Record<(typeof DATASETS)[number], string> = {
      testdata: join(dir, "testdata-v17.mitm"),
      corpus: join(dir, "corpus.mitm"),
      edge: join(dir, "edge.mitm"),
    };
    // Every test file that reflow reads, as v17. One it cannot convert is reported, and
    // compared as it is when it is a v17 file already.
    const parts: Buffer[] = [];
    for (const file of allMitmFiles()) {
      if (file.endsWith("dumpfile-010.mitm")) continue; // 0.10: no reader has a migration for it
      const out = join(dir, `${basename(file)}.v17`);
      const r = reflow(["convert", file, "-o", out, "--flow-version", "17", "--skip-unwritable", "-q"]);
      if (r.status === 0) {
        parts.push(readFileSync(out));
        continue;
      }
      const native = await isVersion17(file);
      console.warn(
        `reflow convert failed on ${file}${native ? "; compared as it is" : "; left out"}: ${r.stderr.toString().trim()}`,
      );
      if (native) parts.push(readFileSync(file));
    }
    writeFileSync(files.testdata, Buffer.concat(parts));
    for (const [script, out, args] of [
      [corpusScript, files.corpus, ["300", "3"]],
      [edgeScript, files.edge, []],
    ] as const) {
      const r = spawnSync(PYTHON, [script, out, ...args]);
      if (r.status !== 0) throw new Error(`${script}: ${r.stderr.toString()}`);
    }
    const exprs = [...CASES.map((c) => c.expr), ...MALFORMED];
    for (const name of DATASETS) {
      const answer = askPeer(files[name], exprs);
      const flows = await flowsOf(files[name]);
      expect(flows.map((f) => f.id)).toEqual(answer.flows);
      datasets.set(name, { flows, peer: new Map(answer.results.map((r) => [r.expr, r])) });
    }
  }, 300_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("has flows of every type to compare over", () => {
    const all = [...datasets.values()].flatMap((d) => d.flows);
    expect(new Set(all.map((f) => f.type))).toEqual(new Set(["http", "tcp", "dns"]));
    expect(datasets.get("testdata")!.flows.length).toBeGreaterThanOrEqual(60);
  });

  for (const c of CASES) {
    for (const name of DATASETS) {
      it(`${name}: ${c.expr}`, () => {
        const ds = datasets.get(name)!;
        const theirs = ds.peer.get(c.expr)!;
        if ("error" in theirs) throw new Error(`mitmproxy refused ${c.expr}: ${theirs.error}`);
        const filter = parseFilter(c.expr, { caseSensitive: !c.ignoreCase });
        const compared = ds.flows.filter((f) => !theirs.crashed.includes(f.id));
        expect(compared.filter((f) => filter.match(f)).map((f) => f.id)).toEqual(theirs.ids);
      });
    }
  }

  it("refuses what mitmproxy refuses", () => {
    const peer = datasets.get("edge")!.peer;
    for (const expr of MALFORMED) {
      expect(peer.get(expr), expr).toHaveProperty("error");
      expect(() => parseFilter(expr), expr).toThrow(expect.objectContaining({ code: "E_FILTER_SYNTAX" }));
    }
  });
});
