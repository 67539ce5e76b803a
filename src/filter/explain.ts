/** A parsed filter in words, e.g. `url matches /x/i and has response` (as newest mitmproxy prints it). */
import type { FilterTerm, OperatorTerm } from "./syntax-tree.js";

/** The tree in words; nested and/or groups are parenthesised. */
export function explainTerm(term: FilterTerm): string {
  switch (term.kind) {
    case "and":
      return term.terms.map(grouped).join(" and ");
    case "or":
      return term.terms.map(grouped).join(" or ");
    case "not":
      return `not ${grouped(term.term)}`;
    case "operator":
      return explainOperator(term);
  }
}

function grouped(term: FilterTerm): string {
  return term.kind === "and" || term.kind === "or" ? `(${explainTerm(term)})` : explainTerm(term);
}

function explainOperator(term: OperatorTerm): string {
  const { operator } = term;
  if (operator.argument === "int") return `${operator.phrase} is ${term.number}`;
  if (operator.argument === "none") return operator.phrase;
  // RegExp.source escapes `/` and line breaks, so the words show a valid JavaScript regex literal
  const regex = term.regex!;
  return `${operator.phrase} matches /${term.source === "" ? "" : regex.source}/${regex.flags}`;
}
