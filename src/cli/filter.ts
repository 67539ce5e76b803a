/** `reflow filter`: checks a filter expression and says how it reads. */
import type { Command } from "commander";
import { ExitCode } from "../errors.js";
import { OPERATORS, parseFilter } from "../filter/index.js";
import { escapeControl } from "../display/human.js";

interface FilterOptions {
  explain?: boolean;
  caseSensitive?: boolean;
}

/** The operator table for --help. */
function operatorHelp(): string {
  const rows = [...OPERATORS.values()].map((op) => {
    const usage = `~${op.code}${op.argument === "regex" ? " REGEX" : op.argument === "int" ? " CODE" : ""}`;
    return `  ${usage.padEnd(16)}${op.help}`;
  });
  return [
    ...rows,
    `  ${"REGEX".padEnd(16)}a bare or quoted word: ~u REGEX`,
    `  ${"!X  X & Y".padEnd(16)}not, and (& binds tighter than |)`,
    `  ${"X | Y  ( X )".padEnd(16)}or, grouping`,
    `  ${"X Y".padEnd(16)}side by side: and, binding loosest (~u a ~u b | ~u c = ~u a & (~u b | ~u c))`,
  ].join("\n");
}

export function registerFilter(program: Command): void {
  program
    .command("filter")
    .summary("check a filter expression, and explain how it reads")
    .description(
      "Parses a mitmproxy filter expression (its words joined by spaces). A malformed one is reported " +
        "with a caret under the column where it goes wrong (exit 2). With --explain, prints how it reads. " +
        "Regexes are JavaScript regexes, case-insensitive unless --case-sensitive; inside quotes a " +
        'backslash escapes the next character (as in mitmproxy), so write "\\\\." for a literal dot.',
    )
    .argument("<FILTER...>", "the filter expression")
    .option("--explain", "print the expression's reading in words")
    .option("--case-sensitive", "compile regexes case-sensitively")
    .addHelpText(
      "after",
      `
Operators:
${operatorHelp()}

Examples:
  reflow filter --explain '~u /api ~m POST | ~m PUT'
      url matches /\\/api/i and (method matches /POST/i or method matches /PUT/i)
  reflow filter '~c200'          # exit 2: ~c must be followed by a space`,
    )
    .action((words: string[], opts: FilterOptions) => {
      const filter = parseFilter(words.join(" "), { caseSensitive: opts.caseSensitive });
      // the reading quotes the expression's regexes, which may hold anything the shell passed
      if (opts.explain) process.stdout.write(`${escapeControl(filter.explain())}\n`);
      process.exitCode = ExitCode.OK;
    });
}
