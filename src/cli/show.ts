/** `reflow show`: lists flows as mitmdump's --flow-detail does, or prints them as JSON lines. */
import type { Command } from "commander";
import type { DetailLevel } from "../display/flow-listing.js";
import { ListingSink } from "../display/listing-sink.js";
import { ExitCode, UsageError } from "../errors.js";
import { parseFilter } from "../filter/index.js";
import { MigrationContext } from "../format/migrations/index.js";
import { TextOutput } from "../io/text-output.js";
import { FilterStage } from "../pipeline/filter-stage.js";
import { FlowChain } from "../pipeline/flow-chain.js";
import { JsonLinesSink } from "../pipeline/json-lines-sink.js";
import { runSavedInputs } from "../pipeline/saved-flow-source.js";
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

async function show(args: string[], opts: ShowOptions): Promise<number> {
  const { inputs, filterWords } = splitInputsAndFilter(args);
  // a bad filter stops before anything is read
  const filter = filterWords.length
    ? new FilterStage(parseFilter(filterWords.join(" "), { caseSensitive: opts.caseSensitive }))
    : null;
  const paths = await expandInputs(inputs);
  // Saved flows → filter → the listing or JSON Lines on stdout (a closed pipe ends quietly: see main.ts).
  const out = await TextOutput.open("-");
  const sink = opts.json
    ? new JsonLinesSink(out)
    : new ListingSink(
        {
          detail: opts.detail,
          colour: useColour(process.stdout),
          width: process.stdout.isTTY ? process.stdout.columns : null, // piped output is never shortened
        },
        out,
      );
  const chain = new FlowChain(filter ? [filter] : [], [sink]);
  // Damage ends its input only; its flows before the damage were shown.
  const damaged = await runSavedInputs(paths, new MigrationContext(), () => chain, { onDamage: (e) => errorLine(e.message) });
  await chain.close();
  return damaged ? ExitCode.CORRUPT_INPUT : ExitCode.OK;
}
