/** Telling a command's input files from the filter words that follow them (`IN... [FILTER...]`). */
import { existsSync } from "node:fs";

/** Names that are flow files even when missing or a glob (reading them then reports the problem). */
const FLOW_FILE = /\.(mitm|flows?|dump|har|zhar|msgpack|jsonl)$/i;

/**
 * True when `arg` is an input: `-`, an existing path, or a name ending like a flow file
 * (`caps/*.mitm`, `typo.mitm`). Anything else, `/api` or `.*\.json` included, is a filter word.
 */
export function isInputArgument(arg: string): boolean {
  if (arg === "-") return true;
  if (/^[~!(&|"']/.test(arg)) return false;
  return FLOW_FILE.test(arg) || existsSync(arg);
}

/**
 * Splits positional arguments: inputs first, then from the first argument that is not an
 * input on, the words of a filter expression. The first argument is always an input.
 */
export function splitInputsAndFilter(args: readonly string[]): { inputs: string[]; filterWords: string[] } {
  let i = 1;
  while (i < args.length && isInputArgument(args[i]!)) i++;
  return { inputs: args.slice(0, i), filterWords: args.slice(i) };
}
