/** The filter grammar: precedence, quoting, where `!&|` are regex characters, and syntax errors. */
import { describe, expect, it } from "vitest";
import { FilterSyntaxError, parseFilter } from "../../src/filter/index.js";
import { UsageError } from "../../src/errors.js";

const explain = (expr: string, caseSensitive = false): string => parseFilter(expr, { caseSensitive }).explain();

describe("precedence", () => {
  it("binds ! tighter than &, and & tighter than |", () => {
    expect(explain("~q | ~s & ~e")).toBe("has no response or (has response and has error)");
    expect(explain("!~q & ~s")).toBe("not has no response and has response");
    expect(explain("!(~q | ~s)")).toBe("not (has no response or has response)");
    expect(explain("!!~s")).toBe("not not has response");
  });

  it("reads terms side by side as an AND that binds loosest", () => {
    expect(explain("~u a ~u b | ~u c")).toBe("url matches /a/i and (url matches /b/i or url matches /c/i)");
    expect(explain("~u a | ~u b ~u c")).toBe("(url matches /a/i or url matches /b/i) and url matches /c/i");
    expect(explain("~q & ~s ~e")).toBe("(has no response and has response) and has error");
  });

  it("keeps chains of one operator flat", () => {
    expect(explain("~q & ~s & ~e")).toBe("has no response and has response and has error");
    expect(explain("~q | ~s | ~e")).toBe("has no response or has response or has error");
  });

  it("groups with parentheses", () => {
    expect(explain("(~m POST | ~m PUT) & ~t json")).toBe(
      "(method matches /POST/i or method matches /PUT/i) and content type matches /json/i",
    );
    expect(explain("( ~q )")).toBe("has no response");
  });

  it("accepts a parenthesis right after a ~code and terms side by side in parentheses (mitmproxy refuses both)", () => {
    expect(explain("(~q)")).toBe("has no response");
    expect(explain("!(~s)")).toBe("not has response");
    expect(explain("(~q ~e) | ~s")).toBe("(has no response and has error) or has response");
  });
});

describe("words and quotes", () => {
  it("reads a bare or quoted word as ~u", () => {
    expect(explain("example")).toBe("url matches /example/i");
    expect(explain('"a b"')).toBe("url matches /a b/i");
    expect(explain("'it\"s'")).toBe('url matches /it"s/i');
  });

  it("treats !, & and | inside a word as regex characters", () => {
    expect(explain("~u index|~u missing")).toBe("url matches /index|/i and url matches /missing/i");
    expect(explain("foo&bar")).toBe("url matches /foo&bar/i");
    expect(explain("a &b")).toBe("url matches /a/i and url matches /b/i");
    expect(explain("~u !x")).toBe("url matches /!x/i");
  });

  it("reads an operator character with nothing to apply to as a one-character regex, as mitmproxy does", () => {
    expect(explain("!")).toBe("url matches /!/i");
    expect(explain("~q |")).toBe("has no response and url matches /|/i");
    expect(explain("& ~s")).toBe("url matches /&/i and has response");
  });

  it("splits a word at parentheses (mitmproxy #7715)", () => {
    expect(explain("~u get(Info|Routers)")).toBe("url matches /get/i and url matches /Info|Routers/i");
  });

  it("applies backslash escapes inside quotes only", () => {
    expect(explain('~u "\\.json\\?"')).toBe("url matches /.json?/i");
    expect(explain("~u \\.json\\?")).toBe("url matches /\\.json\\?/i");
    expect(explain('~u "a\\\\.b"')).toBe("url matches /a\\.b/i");
    expect(explain('~b "\\t\\x41\\101\\u0041"')).toBe("body matches /\tAAA/is");
  });

  it("reads ~c's digits only", () => {
    expect(explain("~c 0200")).toBe("response code is 200");
    expect(explain("~c 404abc")).toBe("response code is 404 and url matches /abc/i");
  });
});

describe("explain", () => {
  it("shows each operator and its regex flags", () => {
    expect(explain("~u x ~s")).toBe("url matches /x/i and has response");
    expect(explain("~h x ~b y ~meta z ~comment w", true)).toBe(
      "header matches /x/m and body matches /y/s and flow metadata matches /z/m and comment matches /w/m",
    );
    const all = "~all ~a ~e ~http ~websocket ~tcp ~udp ~dns ~q ~s ~marked ~replay ~replayq ~replays";
    expect(explain(all)).toBe(
      "all flows and is asset and has error and is an HTTP flow and is a WebSocket flow and is a TCP flow and " +
        "is a UDP flow and is a DNS flow and has no response and has response and is marked and flow has been replayed and " +
        "request has been replayed and response has been replayed",
    );
    expect(explain("~bq a ~bs b ~hq c ~hs d ~t e ~tq f ~ts g ~m h ~d i ~src j ~dst k ~marker l", true)).toBe(
      "request body matches /a/s and response body matches /b/s and request header matches /c/m and " +
        "response header matches /d/m and content type matches /e/ and request content type matches /f/ and " +
        "response content type matches /g/ and method matches /h/ and domain matches /i/ and " +
        "source address matches /j/ and destination address matches /k/ and marker matches /l/",
    );
  });

  it("says whether bodies are needed", () => {
    expect(parseFilter("~u x & ~h y | !~c 200").needsBodies).toBe(false);
    expect(parseFilter("~u x | !~bs y").needsBodies).toBe(true);
    expect(parseFilter("~b x").needsBodies).toBe(true);
  });
});

describe("syntax errors", () => {
  /** The column the error points at, and that the message draws the caret there. */
  function errorAt(expr: string): { offset: number; reason: string } {
    try {
      parseFilter(expr);
    } catch (e) {
      expect(e).toBeInstanceOf(FilterSyntaxError);
      expect(e).toBeInstanceOf(UsageError);
      const err = e as FilterSyntaxError;
      expect(err.code).toBe("E_FILTER_SYNTAX");
      expect(err.exitCode).toBe(2);
      const lines = err.message.split("\n");
      expect(lines[1]).toBe(`  ${expr.replace(/[\t\n\r]/g, " ")}`);
      expect(lines[2]).toBe(`  ${" ".repeat(err.offset)}^`);
      return { offset: err.offset, reason: err.reason };
    }
    throw new Error(`${expr} parsed`);
  }

  it.each([
    ["", 0],
    ["   ", 3],
    ["~c200", 2],
    ["~q~s", 2],
    ["~s!", 2],
    ["~q&~s", 2],
    ['~u"x"', 2],
    ["~u", 2],
    ["~u   ", 5],
    ["~c", 2],
    ["~c +200", 3],
    ["~x", 0],
    ["~bogus & ~s", 0],
    ["~ foo", 0],
    ["a)", 1],
    ["~q ~s )", 6],
    ["(~q", 3],
    ["((~q | ~s)", 10],
    ["~q & (", 6],
    ['~u "abc', 3],
    ["x 'ab\\'", 2],
    ["~bq (?i)user", 4],
    ["~u [", 3],
    ["~m post ~b (", 11],
  ])("points at the column of %j", (expr, column) => {
    expect(errorAt(expr).offset).toBe(column);
  });

  it("says what is wrong", () => {
    expect(errorAt("~c200").reason).toMatch(/~c must be followed by a space/);
    expect(errorAt("~nope").reason).toMatch(/unknown operator ~nope/);
    expect(errorAt("~u").reason).toMatch(/~u needs a regex/);
    expect(errorAt("(~q").reason).toMatch(/missing '\)'/);
    expect(errorAt("'abc").reason).toMatch(/unterminated/);
    expect(errorAt("~u (a|b)").reason).toMatch(/quote a regex/);
    expect(errorAt("~h (?<=x").reason).toMatch(/~h needs a regex/);
    expect(errorAt('~h "(?<x"').reason).toMatch(/bad regex for ~h/);
  });

  it("survives deep nesting with a syntax error, not a stack overflow", () => {
    expect(() => parseFilter(`${"(".repeat(20000)}~q${")".repeat(20000)}`)).toThrow(FilterSyntaxError);
  });
});
