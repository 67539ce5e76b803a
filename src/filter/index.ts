/**
 * mitmproxy's filter language (`~u example & !~s`, spec §5): parse an expression once,
 * then test flows with it.
 */
import type { Flow } from "../model/index.js";
import { explainTerm } from "./explain.js";
import { compileTerm, type FlowPredicate } from "./flow-matchers.js";
import { type ParseOptions, parseExpression } from "./parser.js";
import { type FilterTerm, forEachOperator } from "./syntax-tree.js";

export { FilterSyntaxError, pointAt } from "./filter-syntax-error.js";
export { OPERATORS, type OperatorSpec } from "./operators.js";
export type { ParseOptions } from "./parser.js";
export type { AndTerm, FilterTerm, NotTerm, OperatorTerm, OrTerm } from "./syntax-tree.js";

/** A parsed filter expression. */
export interface Filter {
  /** the expression as given */
  readonly expression: string;
  /** the parsed tree */
  readonly tree: FilterTerm;
  /** true when some operator reads bodies or messages (`~b`, `~bq`, `~bs`); otherwise no body is ever decoded */
  readonly needsBodies: boolean;
  /** true when the flow matches */
  match(flow: Flow): boolean;
  /** the parsed tree in words, e.g. `url matches /x/i and has response` */
  explain(): string;
}

/**
 * Parses a filter expression; regexes are case-insensitive unless `caseSensitive`.
 * Throws FilterSyntaxError (a usage error, exit 2) that points at the failing column.
 */
export function parseFilter(expression: string, opts: ParseOptions = {}): Filter {
  const tree = parseExpression(expression, opts);
  const predicate: FlowPredicate = compileTerm(tree);
  let needsBodies = false;
  forEachOperator(tree, (t) => {
    if (t.operator.reads === "bodies") needsBodies = true;
  });
  return {
    expression,
    tree,
    needsBodies,
    match: predicate,
    explain: () => explainTerm(tree),
  };
}

/** A filter's words joined as the CLI receives them (`FILTER...`), or null for none. */
export function filterFromWords(words: readonly string[], opts: ParseOptions = {}): Filter | null {
  return words.length === 0 ? null : parseFilter(words.join(" "), opts);
}
