/**
 * The filter grammar, as mitmproxy's pyparsing grammar reads it (mitmdump-reference §3.2):
 *
 *   expression := or-term+                      (side by side: an AND that binds loosest)
 *   or-term    := and-term ("|" and-term)*
 *   and-term   := not-term ("&" not-term)*
 *   not-term   := "!" not-term | primary
 *   primary    := operator | regex | "(" expression ")"
 *   regex      := unquoted word | "…" | '…'      (a bare regex is ~u)
 *
 * It is an ordered-choice grammar with backtracking, written here as recursive descent so
 * that every quirk falls out the same way: `!`, `&` and `|` are operators only where an
 * operator can stand, and plain regex characters elsewhere (`a|b` is one word, `~q |` is
 * `~q` and a URL regex `|`). Two deliberate supersets: a `~code` may be followed directly by
 * a parenthesis (`(~q)`), and terms may stand side by side inside parentheses (`(~q ~s)`);
 * mitmproxy refuses both, and accepting them changes the meaning of nothing it accepts.
 */
import { FilterSyntaxError } from "./filter-syntax-error.js";
import { OPERATORS, type OperatorSpec, URL_OPERATOR } from "./operators.js";
import type { FilterTerm, OperatorTerm } from "./syntax-tree.js";

/** How regexes are compiled. */
export interface ParseOptions {
  /** match regexes case-sensitively (default: case-insensitive, as the newest mitmproxy) */
  caseSensitive?: boolean;
}

interface Parsed {
  term: FilterTerm;
  end: number;
}

interface RegexArgument {
  source: string;
  offset: number;
  end: number;
}

/** Failure ranks: a specific diagnosis beats a generic one at the same column. */
const GENERIC = 0;
const UNCLOSED = 1;
const SPECIFIC = 2;

/** pyparsing's default whitespace: other spaces (form feed, NBSP...) are word characters. */
const isSpace = (c: string | undefined): boolean => c === " " || c === "\t" || c === "\n" || c === "\r";

/** Characters an unquoted word cannot hold. */
const isWordBreak = (c: string): boolean => isSpace(c) || c === "(" || c === ")" || c === "~" || c === "'" || c === '"';

/**
 * Characters that continue a `~code` (ASCII printables, pyparsing's WordEnd). Parentheses
 * end it here, so `(~q)` parses.
 */
const continuesCode = (c: number): boolean => c >= 0x21 && c <= 0x7e && c !== 0x28 && c !== 0x29;

/** Quote escapes as pyparsing's QuotedString applies them (the newest mitmproxy's version). */
const QUOTE_ESCAPE = /\\([tnfr])|\\([0-7]{3}|0|x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4})|\\(.)/g;
const WHITESPACE_ESCAPES: Record<string, string> = { t: "\t", n: "\n", f: "\f", r: "\r" };

function unescapeQuoted(text: string): string {
  return text.replace(
    QUOTE_ESCAPE,
    (_m, ws: string | undefined, num: string | undefined, other: string | undefined) => {
      if (ws !== undefined) return WHITESPACE_ESCAPES[ws]!;
      if (num !== undefined) {
        if (num === "0") return "\0";
        if (num[0] === "x" || num[0] === "u") return String.fromCharCode(parseInt(num.slice(1), 16));
        return String.fromCharCode(parseInt(num, 8));
      }
      return other!;
    },
  );
}

/** Parses a filter expression into its tree; throws FilterSyntaxError pointing at the column. */
export function parseExpression(expression: string, options: ParseOptions = {}): FilterTerm {
  try {
    return new ExpressionParser(expression, options.caseSensitive === true).parse();
  } catch (e) {
    // thousands of nested parentheses or `!`s exhaust the stack: say so, not "Maximum call stack"
    if (e instanceof RangeError) throw new FilterSyntaxError(expression, 0, "expression nested too deeply");
    throw e;
  }
}

class ExpressionParser {
  private failOffset = -1;
  private failRank = -1;
  private failReason = "";

  constructor(
    private readonly src: string,
    private readonly caseSensitive: boolean,
  ) {}

  parse(): FilterTerm {
    if (this.src.length === 0) throw new FilterSyntaxError(this.src, 0, "empty filter expression");
    const whole = this.sequence(0);
    if (whole) {
      const end = this.skipSpace(whole.end);
      if (end === this.src.length) return whole.term;
      this.unexpected(end);
    }
    throw new FilterSyntaxError(this.src, this.failOffset, this.failReason);
  }

  /** Remembers the furthest failure: that column is where the expression stops making sense. */
  private fail(offset: number, rank: number, reason: string): null {
    if (offset > this.failOffset || (offset === this.failOffset && rank > this.failRank)) {
      this.failOffset = offset;
      this.failRank = rank;
      this.failReason = reason;
    }
    return null;
  }

  private unexpected(offset: number): null {
    const c = this.src[offset];
    if (c === undefined) return this.fail(offset, GENERIC, "the expression ends where a filter term is expected");
    if (c === ")") return this.fail(offset, GENERIC, "unexpected ')' (no '(' open)");
    return this.fail(offset, GENERIC, `unexpected ${JSON.stringify(c)}`);
  }

  private skipSpace(pos: number): number {
    while (isSpace(this.src[pos])) pos++;
    return pos;
  }

  /** One or more or-terms side by side, ANDed. */
  private sequence(pos: number): Parsed | null {
    const terms: FilterTerm[] = [];
    let end = pos;
    for (let r = this.orTerm(pos); r; r = this.orTerm(end)) {
      terms.push(r.term);
      end = r.end;
    }
    if (terms.length === 0) return null;
    return { term: terms.length === 1 ? terms[0]! : { kind: "and", terms }, end };
  }

  private orTerm(pos: number): Parsed | null {
    return this.infix(pos, "|", (p) => this.andTerm(p), "or");
  }

  private andTerm(pos: number): Parsed | null {
    return this.infix(pos, "&", (p) => this.notTerm(p), "and");
  }

  /** `operand (op operand)*`: an operator not followed by an operand is left for the caller (as a word). */
  private infix(pos: number, op: string, operand: (p: number) => Parsed | null, kind: "and" | "or"): Parsed | null {
    const first = operand(pos);
    if (!first) return null;
    const terms = [first.term];
    let end = first.end;
    for (;;) {
      const at = this.skipSpace(end);
      if (this.src[at] !== op) break;
      const next = operand(at + 1);
      if (!next) break;
      terms.push(next.term);
      end = next.end;
    }
    return terms.length === 1 ? first : { term: { kind, terms }, end };
  }

  private notTerm(pos: number): Parsed | null {
    const at = this.skipSpace(pos);
    if (this.src[at] === "!") {
      const inner = this.notTerm(at + 1);
      if (inner) return { term: { kind: "not", term: inner.term }, end: inner.end };
      // a `!` with nothing to negate is a one-character URL regex, as in mitmproxy
    }
    return this.primary(at);
  }

  private primary(pos: number): Parsed | null {
    const at = this.skipSpace(pos);
    const c = this.src[at];
    if (c === "(") {
      const inner = this.sequence(at + 1);
      if (!inner) return null;
      const close = this.skipSpace(inner.end);
      if (this.src[close] !== ")") return this.fail(close, UNCLOSED, "missing ')'");
      return { term: inner.term, end: close + 1 };
    }
    if (c === "~") return this.operator(at);
    const arg = this.regexArgument(at);
    if (!arg) return null;
    return { term: this.regexTerm(URL_OPERATOR, at, arg), end: arg.end };
  }

  private operator(at: number): Parsed | null {
    let end = at + 1;
    while (end < this.src.length && continuesCode(this.src.charCodeAt(end))) end++;
    const name = this.src.slice(at + 1, end);
    const spec = OPERATORS.get(name);
    if (!spec) return this.unknownOperator(at, name);
    switch (spec.argument) {
      case "none":
        return { term: { kind: "operator", operator: spec, offset: at }, end };
      case "int": {
        const digits = this.skipSpace(end);
        let stop = digits;
        while (stop < this.src.length && this.src.charCodeAt(stop) >= 0x30 && this.src.charCodeAt(stop) <= 0x39) stop++;
        if (stop === digits) return this.fail(digits, SPECIFIC, `~${spec.code} needs a status code (digits)`);
        const term: OperatorTerm = {
          kind: "operator",
          operator: spec,
          number: Number(this.src.slice(digits, stop)),
          offset: at,
        };
        return { term, end: stop };
      }
      case "regex": {
        const arg = this.regexArgument(end, spec);
        if (!arg) return null;
        return { term: this.regexTerm(spec, at, arg), end: arg.end };
      }
    }
  }

  private unknownOperator(at: number, name: string): null {
    // `~c200`, `~q~s`: a known code run into what follows it (`~bogus` is a name, not `~b` + `ogus`)
    let known = "";
    for (const code of OPERATORS.keys()) if (name.startsWith(code) && code.length > known.length) known = code;
    if (known && !/^[A-Za-z]/.test(name.slice(known.length))) {
      const spec = OPERATORS.get(known)!;
      const hint = spec.argument === "none" ? "" : ` (write ~${known} ${name.slice(known.length)})`;
      return this.fail(
        at + 1 + known.length,
        SPECIFIC,
        `~${known} must be followed by a space or a parenthesis${hint}`,
      );
    }
    if (!name)
      return this.fail(at, SPECIFIC, "'~' must be followed by an operator name (quote a regex that holds '~')");
    return this.fail(at, SPECIFIC, `unknown operator ~${name}`);
  }

  /** An unquoted word or a quoted string (its escapes applied). */
  private regexArgument(pos: number, spec?: OperatorSpec): RegexArgument | null {
    const at = this.skipSpace(pos);
    const c = this.src[at];
    if (c === '"' || c === "'") return this.quoted(at, c);
    let end = at;
    while (end < this.src.length && !isWordBreak(this.src[end]!)) end++;
    if (end > at) return { source: this.src.slice(at, end), offset: at, end };
    if (!spec) return this.unexpected(at);
    const found = c === undefined ? "the end" : JSON.stringify(c);
    const hint = c === "(" || c === "~" ? " (quote a regex that holds parentheses or '~')" : "";
    return this.fail(at, SPECIFIC, `~${spec.code} needs a regex, found ${found}${hint}`);
  }

  private quoted(at: number, quote: string): RegexArgument | null {
    // a backslash escapes any character but a newline; a raw line break ends nothing
    for (let i = at + 1; i < this.src.length; i++) {
      const c = this.src[i];
      if (c === quote) return { source: unescapeQuoted(this.src.slice(at + 1, i)), offset: at, end: i + 1 };
      if (c === "\n" || c === "\r") break;
      if (c === "\\") {
        if (this.src[i + 1] === undefined || this.src[i + 1] === "\n") break;
        i++;
      }
    }
    return this.fail(at, SPECIFIC, `unterminated quoted string (no closing ${quote})`);
  }

  private regexTerm(spec: OperatorSpec, offset: number, arg: RegexArgument): OperatorTerm {
    const flags = (this.caseSensitive ? "" : "i") + (spec.flags ?? "");
    let regex: RegExp;
    try {
      regex = new RegExp(arg.source, flags);
    } catch (e) {
      // mitmproxy stops at the first regex that does not compile, too
      const why = e instanceof Error ? e.message : String(e);
      throw new FilterSyntaxError(this.src, arg.offset, `bad regex for ~${spec.code}: ${why}`);
    }
    return { kind: "operator", operator: spec, source: arg.source, regex, offset };
  }
}
