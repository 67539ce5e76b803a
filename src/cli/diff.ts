/** `reflow diff`: compares two flow files flow by flow, for people (a report) and for CI (exit code, JSON). */
import { type Command, Option } from "commander";
import { ExitCode, UsageError } from "../errors.js";
import {
  DEFAULT_IGNORE,
  type DiffReport,
  IGNORE_CATEGORIES,
  type IgnoreCategory,
  JsonReport,
  PAIRING_MODES,
  type PairingMode,
  StatReport,
  TextReport,
  diffFlowStreams,
  hasDifferences,
  HtmlReport,
  JUnitReport,
  parseIgnoreList,
  ReportTee,
  retainFlow,
} from "../diff/index.js";
import { type Filter, parseFilter } from "../filter/index.js";
import { MigrationContext } from "../format/migrations/index.js";
import { readFlows } from "../io/flow-source.js";
import { writeWholeFile } from "../io/output-file.js";
import type { Flow } from "../model/index.js";
import { expandInputs } from "./inputs.js";
import { closedStdout, useColour } from "./report.js";
import { terminalSafeText } from "../io/terminal-text.js";

interface DiffOptions {
  by: PairingMode;
  ignore: Set<IgnoreCategory>;
  ignoreHeader?: string[];
  headerOrder?: boolean;
  context: number;
  json?: boolean;
  stat?: boolean;
  caseSensitive?: boolean;
  junit?: string;
  html?: string;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function parseContext(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text))
    throw new UsageError(`--context takes a whole number of lines (got ${JSON.stringify(text)})`);
  return n;
}

export function registerDiff(program: Command): void {
  const categories = Object.entries(IGNORE_CATEGORIES)
    .map(([name, what]) => `  ${name.padEnd(12)} ${what}`)
    .join("\n");
  program
    .command("diff")
    .summary("compare two flow files; exit 1 when they differ")
    .description(
      "Pairs the flows of A and B (each of any readable format: mitm, reflow msgpack, HAR, JSON Lines), compares each pair and reports the flows that changed, and those only in A " +
        "(removed) or only in B (added). Compared: request line, status and reason, headers (names case-insensitive, " +
        "repeats kept, order ignored unless --header-order), bodies after decoding (JSON structurally, by path such as " +
        "$.items[3].name; text line by line; binary by size and SHA-256), trailers, WebSocket and TCP/UDP messages, " +
        "error, comment, marker, metadata and connection details. Per-recording noise is left out (--ignore). " +
        "Words after B are a filter expression: only flows it matches, on either side, are compared. " +
        "Exit code 0 when equal, 1 when different, 2 on a usage error or an unreadable input, 3 on a corrupt one.",
    )
    .argument("<A>", "the old flow file (a path, or - for stdin)")
    .argument("<B>", "the new flow file")
    .argument("[FILTER...]", "a filter expression: only matching flows are compared")
    .addOption(
      new Option("--by <how>", "pair flows by id, by request (method, URL, body; in order of appearance), or by order")
        .choices(PAIRING_MODES as string[])
        .default("id"),
    )
    .addOption(
      new Option("--ignore <list>", "comma-separated categories of fields to leave out, or none")
        .argParser(parseIgnoreList)
        .default(new Set(DEFAULT_IGNORE), DEFAULT_IGNORE.join(",")),
    )
    .option("--ignore-header <NAME>", "leave out this header (and trailer), any case (repeatable)", collect)
    .option("--header-order", "also report headers that only changed their order")
    .addOption(
      new Option("-U, --context <N>", "lines of context around text body changes").default(3).argParser(parseContext),
    )
    .option("--stat", "counts only: flows by status and changed flows per field")
    .option("--json", "machine-readable output (docs/diff-json.md)")
    .option("--case-sensitive", "match filter regexes case-sensitively (default: ignore case)")
    .option("--junit <FILE>", "also write a JUnit XML report for CI: a test case per flow pair, failures for changed, added and removed flows")
    .option("--html <FILE>", "also write a self-contained HTML page: the counts and each changed flow side by side")
    .addHelpText(
      "after",
      `
--ignore categories (default: ${DEFAULT_IGNORE.join(",")}; "default,metadata" adds to it):
${categories}

Examples:
  reflow diff before.mitm after.mitm                      # what a rewrite changed; exit 1 if anything
  reflow run -r cap.mitm -s redact.ts -w out.mitm && reflow diff cap.mitm out.mitm --stat
  reflow diff old-run.mitm new-run.mitm --by request --ignore-header date --ignore-header etag
  reflow diff a.mitm b.mitm '~u /api & ~t json' --json | jq '.flows[].changes[].path'
  reflow diff a.mitm b.mitm --ignore none                 # compare timestamps and addresses too
  reflow diff expected.mitm actual.mitm --junit report.xml --html diff.html   # CI test report and artifact`,
    )
    .action(async (a: string, b: string, filterWords: string[], opts: DiffOptions) => {
      process.exitCode = await diff(a, b, filterWords, opts);
    });
}

/** Writes report text to stdout in large chunks, waiting when the pipe is full; a closed pipe ends quietly. */
class StdoutSink {
  private parts: string[] = [];
  private size = 0;
  closed = false;

  constructor() {
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
      this.closed = true;
    });
  }

  write = async (text: string): Promise<void> => {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 1 << 16) await this.flush();
  };

  async flush(): Promise<void> {
    if (this.closed || this.parts.length === 0) return;
    const chunk = this.parts.join("");
    this.parts = [];
    this.size = 0;
    if (!process.stdout.write(process.stdout.isTTY ? terminalSafeText(chunk) : chunk)) await new Promise((resolve) => process.stdout.once("drain", resolve));
  }
}

/** The one file an argument names (a glob must match exactly one). */
async function onePath(arg: string, which: string): Promise<string> {
  const paths = await expandInputs([arg]);
  if (paths.length !== 1)
    throw new UsageError(`${which} must name one file; ${JSON.stringify(arg)} matches ${paths.length}`);
  return paths[0]!;
}

async function* matching(flows: AsyncIterable<Flow>, filter: Filter | null): AsyncGenerator<Flow> {
  for await (const flow of flows) if (!filter || filter.match(flow)) yield flow;
}

async function diff(argA: string, argB: string, filterWords: string[], opts: DiffOptions): Promise<number> {
  if (argA === "-" && argB === "-") throw new UsageError("only one of A and B can be stdin");
  // a bad filter stops before anything is read
  const filter = filterWords.length ? parseFilter(filterWords.join(" "), { caseSensitive: opts.caseSensitive }) : null;
  const [pathA, pathB] = [await onePath(argA, "A"), await onePath(argB, "B")];
  const migrations = { a: new MigrationContext(), b: new MigrationContext() };
  const out = new StdoutSink();
  const ignoreHeaders = (opts.ignoreHeader ?? []).map((h) => h.toLowerCase());
  let report: DiffReport;
  if (opts.stat) report = new StatReport(out.write, opts.json ?? false);
  else if (opts.json)
    report = new JsonReport(out.write, { by: opts.by, ignore: [...opts.ignore], ignore_headers: ignoreHeaders });
  else report = new TextReport(out.write, { colour: useColour(process.stdout) });
  const files: DiffReport[] = [];
  if (opts.junit) files.push(new JUnitReport(`${pathA} → ${pathB}`, (xml) => writeWholeFile(opts.junit!, xml)));
  if (opts.html) files.push(new HtmlReport({ a: pathA, b: pathB }, (page) => writeWholeFile(opts.html!, page)));
  if (files.length) report = new ReportTee([report, ...files]);
  const reporting = report;
  // once a difference is found, a closed stdout cannot make the answer "equal"
  report = {
    wantsSame: reporting.wantsSame, // --junit lists the pairs that are the same too
    flow: (d) => {
      if (d.status !== "same") closedStdout.exitCode = ExitCode.FINISHED_WITH_ERRORS;
      return reporting.flow(d);
    },
    end: (s) => reporting.end(s),
  };
  try {
    const summary = await diffFlowStreams(
      matching(readFlows(pathA, migrations.a), filter),
      matching(readFlows(pathB, migrations.b), filter),
      {
        by: opts.by,
        compare: {
          ignore: opts.ignore,
          ignoreHeaders: new Set(ignoreHeaders),
          headerOrder: !!opts.headerOrder,
          context: opts.context,
        },
        retain: (flow, side) => retainFlow(flow, migrations[side]),
      },
      report,
    );
    return hasDifferences(summary) ? ExitCode.FINISHED_WITH_ERRORS : ExitCode.OK;
  } finally {
    await out.flush(); // what was found before a read error is still shown
  }
}
