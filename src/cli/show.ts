/** `reflow show`: lists flows as mitmdump's --flow-detail does, or prints them as JSON lines. */
import type { Command } from "commander";
import { ExitCode, FlowReadError, UsageError } from "../errors.js";
import { type DetailLevel, FlowListing } from "../display/flow-listing.js";
import { type Filter, parseFilter } from "../filter/index.js";
import { MigrationContext } from "../format/migrations/index.js";
import { JsonLineEncoder } from "../io/formats/jsonl-writer.js";
import { flowReadError, readFlowBatches } from "../io/flow-source.js";
import { splitInputsAndFilter } from "./filter-words.js";
import { expandInputs } from "./inputs.js";
import { errorLine, useColour } from "./report.js";

interface ShowOptions {
  detail: DetailLevel;
  json?: boolean;
  caseSensitive?: boolean;
}

function parseDetail(text: string): DetailLevel {
  const n = Number(text);
  if (!/^[0-4]$/.test(text)) throw new UsageError(`--detail takes 0, 1, 2, 3 or 4 (got ${JSON.stringify(text)})`);
  return n as DetailLevel;
}

export function registerShow(program: Command): void {
  program
    .command("show")
    .summary("list flows like mitmdump, or print them as JSON lines")
    .description(
      "Reads every IN (paths, quoted globs, or - for stdin) in order and shows its flows on stdout. " +
        "Inputs (mitm, reflow msgpack, HAR, .zhar or JSON Lines, told from their first bytes) are the leading " +
        "arguments that are -, existing files, or names ending in .mitm, .flows, .msgpack, .har, .zhar or .jsonl; the arguments after them are a filter expression (its words joined by spaces), and only the " +
        "flows it matches are shown (quote it: the shell may expand ~). --detail 1 shows one line per request and response, 2 adds headers, " +
        "3 adds bodies (decoded; JSON pretty-printed, forms as fields, binary as a hex dump; cut at 70 " +
        "lines), 4 cuts nothing. Colours only on a terminal (NO_COLOR and FORCE_COLOR respected).",
    )
    .argument("<IN...>", "input flow files, globs or -, then optionally FILTER words")
    .option("-d, --detail <0..4>", "how much of each flow to show", parseDetail, 1 as DetailLevel)
    .option("--json", "one JSON object per flow (JSON Lines, see docs/jsonl.md) instead of the listing")
    .option("--case-sensitive", "match filter regexes case-sensitively (default: ignore case)")
    .addHelpText(
      "after",
      `
Examples:
  reflow show capture.mitm                            # one line per request and response
  reflow show capture.mitm --detail 3 '~u /api & ~c 500'   # bodies of failed API calls
  reflow show 'caps/*.mitm' '~m POST' '~d example.com'  # words after the inputs are the filter
  reflow show capture.mitm --json '~t json' | jq -r '.response.body'
  cat a.mitm | reflow show - --detail 2`,
    )
    .action(async (args: string[], opts: ShowOptions) => {
      process.exitCode = await show(args, opts);
    });
}

/** Writes text to stdout a batch of flows at a time, waiting when the pipe is full; a closed pipe (`| head`) ends quietly. */
class StdoutSink {
  private buffered: (string | Buffer)[] = [];
  private failure: Error | undefined;
  closed = false;

  constructor() {
    process.stdout.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") this.closed = true;
      else this.failure = e;
    });
  }

  /** Queues text or bytes (kept as they are: copy a reused buffer first); `flush` writes them (once per batch of flows). */
  add(text: string | Buffer): void {
    this.buffered.push(text);
  }

  async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.closed || this.buffered.length === 0) return;
    const parts = this.buffered;
    const chunk = parts.every((p) => typeof p === "string")
      ? parts.join("")
      : Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p) : p)));
    this.buffered = [];
    if (!process.stdout.write(chunk)) await drained();
  }
}

/** Resolves when stdout can take more, or will never again (closed pipe): awaiting only "drain" could hang. */
function drained(): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      for (const event of ["drain", "close", "error"]) process.stdout.off(event, done);
      resolve();
    };
    for (const event of ["drain", "close", "error"]) process.stdout.once(event, done);
  });
}

async function show(args: string[], opts: ShowOptions): Promise<number> {
  const { inputs, filterWords } = splitInputsAndFilter(args);
  // a bad filter stops before anything is read
  const filter: Filter | null = filterWords.length
    ? parseFilter(filterWords.join(" "), { caseSensitive: opts.caseSensitive })
    : null;
  const paths = await expandInputs(inputs);
  const listing = new FlowListing({
    detail: opts.detail,
    colour: useColour(process.stdout),
    width: process.stdout.isTTY ? process.stdout.columns : null, // piped output is never shortened
  });
  const out = new StdoutSink();
  const json = opts.json ? new JsonLineEncoder() : null; // bodies escaped from their bytes
  const migrations = new MigrationContext();
  let damage = false;
  for (const path of paths) {
    try {
      for await (const batch of readFlowBatches(path, migrations, { reuseBuffers: true })) {
        if (out.closed) return ExitCode.OK;
        for (const flow of batch) {
          let text: string | Buffer;
          try {
            if (filter && !filter.match(flow)) continue;
            text = json ? Buffer.from(json.encode(flow)) : listing.render(flow).map((line) => `${line}\n`).join("");
          } catch (e) {
            throw flowReadError(flow, e); // damage inside the flow: this input ends here
          }
          if (text) out.add(text);
        }
        await out.flush();
      }
    } catch (e) {
      // Damage ends this input only; its flows before the damage were shown.
      if (!(e instanceof FlowReadError)) throw e;
      await out.flush();
      errorLine(e.message);
      damage = true;
    }
  }
  await out.flush();
  return damage ? ExitCode.CORRUPT_INPUT : ExitCode.OK;
}
