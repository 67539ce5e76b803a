import { describe, expect, it } from "vitest";
import { isValidHost } from "../../src/model/host.js";
import {
  encodeQuery,
  hostport,
  parseAuthority,
  parseQuery,
  parseUrl,
  quote,
  unparseUrl,
  unquote,
} from "../../src/model/url.js";

describe("parseUrl (mitmproxy's url.parse)", () => {
  // Expected values printed by mitmproxy 8.1.1's net.http.url.parse.
  it.each([
    ["https://Example.COM:8443/a b?c#d", "https", "example.com", 8443, "/a b?c#d"],
    ["http://[::1]:8080/x", "http", "::1", 8080, "/x"],
    ["http://u:p@h.com:0/", "http", "h.com", 80, "/"],
    ["ftp://h.com", "ftp", "h.com", 80, "/"],
    ["http://h.com?x", "http", "h.com", 80, "/?x"],
    ["http://h.com/?", "http", "h.com", 80, "/"],
    ["http://h.com/x;p?q#f", "http", "h.com", 80, "/x;p?q#f"],
    ["HTTP://H.com:80/", "http", "h.com", 80, "/"],
    ["http://h_x.example/", "http", "h_x.example", 80, "/"],
    ["  http://h.com/\tx", "http", "h.com", 80, "/x"],
    ["https://h.com", "https", "h.com", 443, "/"],
  ])("%j", (url, scheme, host, port, path) => {
    expect(parseUrl(url)).toEqual({ scheme, host, port, path });
  });

  it.each(["h.com/x", "http://h.com:99999/", "http://h.com:x/", "http://a..b/", "http:///x", "http://[::1/"])(
    "refuses %j",
    (url) => {
      expect(() => parseUrl(url)).toThrow(TypeError);
    },
  );

  it("accepts Unicode hosts and non-ASCII paths (mitmproxy refuses them), encoding them", () => {
    expect(parseUrl("http://Bücher.de/pä?x=ü")).toEqual({
      scheme: "http",
      host: "bücher.de",
      port: 80,
      path: "/p%C3%A4?x=%C3%BC",
    });
  });
});

describe("hosts and authorities", () => {
  it("hostport leaves out default ports and does not bracket IPv6 (as mitmproxy)", () => {
    expect(hostport("http", "h", 80)).toBe("h");
    expect(hostport("https", "h", 80)).toBe("h:80");
    expect(unparseUrl("http", "::1", 8080, "/x")).toBe("http://::1:8080/x");
  });

  it.each([
    ["h.example:8080", "h.example", 8080],
    ["h.example", "h.example", undefined],
    ["[::1]:443", "::1", 443],
    ["::1", "::1", undefined],
    ["bad host:1", "bad host:1", undefined],
    ["h:99999", "h:99999", undefined],
    ["xn--bcher-kva.de", "xn--bcher-kva.de", undefined],
  ])("parseAuthority(%j, false)", (authority, host, port) => {
    expect(parseAuthority(authority, false)).toEqual([host, port]);
  });

  it("parseAuthority(…, true) throws on malformed values", () => {
    expect(() => parseAuthority("bad host:1", true)).toThrow(TypeError);
  });

  it("isValidHost", () => {
    const long = (n: number): string => Array(n).fill("a".repeat(63)).join(".");
    for (const h of ["example.com", "a_b.example", "127.0.0.1", "::1", "bücher.de", "example.com.", "xn--bcher-kva.de", long(4)])
      expect(isValidHost(h), h).toBe(true);
    for (const h of ["", ".", "a..b", "bad host", "x".repeat(64) + ".com", "a\0b", "xn--a.de", `${long(4)}.a`])
      expect(isValidHost(h), h).toBe(false);
  });
});

describe("query strings (urllib's parse_qsl / urlencode)", () => {
  it("parses like parse_qsl(keep_blank_values=True, errors='surrogateescape')", () => {
    // Printed by mitmproxy 8.1.1's url.decode.
    expect(parseQuery("a=1&b=%C3%A9&c&d=&&e=x+y&f=%ZZ&g=%ff&h==&i=%E2%82")).toEqual([
      ["a", "1"],
      ["b", "é"],
      ["c", ""],
      ["d", ""],
      ["e", "x y"],
      ["f", "%ZZ"],
      ["g", "\udcff"],
      ["h", "="],
      ["i", "\udce2\udc82"],
    ]);
  });

  it("encodes like urlencode (quote_plus)", () => {
    expect(
      encodeQuery([
        ["a b", "c&d"],
        ["é", "~._-!*'()"],
        ["x", ""],
      ]),
    ).toBe("a+b=c%26d&%C3%A9=~._-%21%2A%27%28%29&x=");
    // A body that had bare keys keeps them bare.
    expect(
      encodeQuery(
        [
          ["a", ""],
          ["b", "1"],
          ["c", ""],
        ],
        "a&b=2",
      ),
    ).toBe("a&b=1&c");
    expect(encodeQuery([["a", ""]], "a=1")).toBe("a=");
    expect(encodeQuery([["g", "\udcff"]])).toBe("g=%FF");
  });

  it("quote and unquote", () => {
    expect(quote("a b/é~!*")).toBe("a%20b/%C3%A9~%21%2A");
    expect(unquote("%C3%A9%zz")).toBe("é%zz");
    expect(unquote("%E2%82")).toBe("\udce2\udc82");
    expect(unquote("%C3é%A9")).toBe("\udcc3é\udca9");
  });
});
