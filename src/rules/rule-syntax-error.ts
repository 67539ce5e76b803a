/** The error for a malformed rewrite rule: a usage error that points at the column, as a filter's does. */
import { UsageError } from "../errors.js";
import { pointAt } from "../filter/index.js";

/**
 * A rule that does not parse: wrong number of parts, a bad filter, regex or escape, a file
 * that cannot be read. `offset` is the column (0-based, UTF-16 code units of `rule`).
 */
export class RuleSyntaxError extends UsageError {
  constructor(
    readonly option: string,
    readonly rule: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`invalid --${option} rule: ${reason}\n${pointAt(rule, offset)}`, "E_RULE_SYNTAX");
  }
}
