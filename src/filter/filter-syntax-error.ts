/** The error for a malformed filter expression: a usage error that points at the column. */
import { UsageError } from "../errors.js";

/**
 * A filter expression that does not parse (or whose regex does not compile). The message
 * shows the expression with a caret under the failing column; `offset` is that column
 * (0-based, in UTF-16 code units of `expression`).
 */
export class FilterSyntaxError extends UsageError {
  constructor(
    readonly expression: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`invalid filter expression: ${reason}\n${pointAt(expression, offset)}`, "E_FILTER_SYNTAX");
  }
}

/** The expression on one line and a caret under `offset`; control characters shown as spaces so the caret lines up. */
export function pointAt(expression: string, offset: number): string {
  const shown = expression.replace(/[\t\n\r\v\f]/g, " ");
  return `  ${shown}\n  ${" ".repeat(Math.min(offset, shown.length))}^`;
}
