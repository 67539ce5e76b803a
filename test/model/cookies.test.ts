import { describe, expect, it } from "vitest";
import {
  CookieAttrs,
  formatCookieHeader,
  formatSetCookieHeader,
  parseCookieHeader,
  parseSetCookieHeader,
} from "../../src/model/cookies.js";

describe("Cookie header", () => {
  // Expected values printed by mitmproxy's net.http.cookies.
  it.each([
    [
      'a=b; c="d;e"; f',
      [
        ["a", "b"],
        ["c", "d;e"],
        ["f", ""],
      ],
    ],
    [
      " x = 1 ;y=",
      [
        ["x ", " 1 "],
        ["y", ""],
      ],
    ],
    ['a="un\\"esc', [["a", 'un"esc']]],
    [
      "=v;;k",
      [
        ["", "v"],
        ["k", ""],
      ],
    ],
    ["", []],
  ])("parses %j", (line, pairs) => {
    expect(parseCookieHeader(line)).toEqual(pairs);
  });

  it("formats, quoting values that need it", () => {
    expect(
      formatCookieHeader([
        ["a", "b c"],
        ["d", 'q"u'],
        ["e", ""],
      ]),
    ).toBe('a="b c"; d="q\\"u"; e=');
  });
});

describe("Set-Cookie header", () => {
  const parsed = (line: string) => parseSetCookieHeader(line).map(([n, v, a]) => [n, v, a.fields]);

  it("parses attributes, flags (null) and comma-separated cookies", () => {
    expect(parsed("a=b; Path=/; HttpOnly")).toEqual([
      [
        "a",
        "b",
        [
          ["Path", "/"],
          ["HttpOnly", null],
        ],
      ],
    ]);
    expect(parsed("id=1; expires=Wed, 21 Oct 2015 07:28:00 GMT; Secure, other=2; Max-Age=3")).toEqual([
      [
        "id",
        "1",
        [
          ["expires", "Wed, 21 Oct 2015 07:28:00 GMT"],
          ["Secure", null],
        ],
      ],
      ["other", "2", [["Max-Age", "3"]]],
    ]);
    expect(parsed("flag; path=/x")).toEqual([["flag", null, [["path", "/x"]]]]);
    expect(parsed('q="quoted;v"; Domain=x.com')).toEqual([["q", "quoted;v", [["Domain", "x.com"]]]]);
  });

  it("attributes are case-insensitive and the last value wins", () => {
    const attrs = new CookieAttrs([
      ["Path", "/a"],
      ["path", "/b"],
    ]);
    expect(attrs.get("PATH")).toBe("/b");
    expect(attrs.getAll("path")).toEqual(["/a", "/b"]);
  });

  it("formats, leaving expires and path unquoted", () => {
    expect(
      formatSetCookieHeader([
        [
          "n",
          "v w",
          new CookieAttrs([
            ["Path", "/a b"],
            ["HttpOnly", null],
            ["expires", "Wed, 21 Oct 2015 07:28:00 GMT"],
          ]),
        ],
      ]),
    ).toBe('n="v w"; Path=/a b; HttpOnly; expires=Wed, 21 Oct 2015 07:28:00 GMT');
  });
});
