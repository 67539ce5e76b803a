/** The parsed form of a filter expression: operators joined by and, or and not. */
import type { OperatorSpec } from "./operators.js";

/** One `~code` term (or a bare word, which is `~u`). */
export interface OperatorTerm {
  readonly kind: "operator";
  readonly operator: OperatorSpec;
  /** the regex as written, after quote escapes were applied (regex operators) */
  readonly source?: string;
  /** the compiled regex (regex operators) */
  readonly regex?: RegExp;
  /** the number (`~c`) */
  readonly number?: number;
  /** where the term starts in the expression */
  readonly offset: number;
}

/** All terms must match: `a & b`, or terms side by side (`a b`, the loosest binding). */
export interface AndTerm {
  readonly kind: "and";
  readonly terms: readonly FilterTerm[];
}

/** Any term matches: `a | b`. */
export interface OrTerm {
  readonly kind: "or";
  readonly terms: readonly FilterTerm[];
}

/** The term does not match: `!a`. */
export interface NotTerm {
  readonly kind: "not";
  readonly term: FilterTerm;
}

/** A node of the parsed expression. */
export type FilterTerm = OperatorTerm | AndTerm | OrTerm | NotTerm;

/** Calls `visit` on every operator term of the tree. */
export function forEachOperator(term: FilterTerm, visit: (t: OperatorTerm) => void): void {
  switch (term.kind) {
    case "operator":
      visit(term);
      return;
    case "not":
      forEachOperator(term.term, visit);
      return;
    default:
      for (const t of term.terms) forEachOperator(t, visit);
  }
}
