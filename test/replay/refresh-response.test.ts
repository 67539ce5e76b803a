/** --refresh on header values as servers send them, compared with what the shift must give. */
import { describe, expect, it } from "vitest";
import type { HeaderPair } from "../../src/proxy/exchange.js";
import { refreshHeaders } from "../../src/replay/refresh-response.js";

const pairs = (list: [string, string][]): HeaderPair[] => list.map(([n, v]) => [Buffer.from(n), Buffer.from(v)]);
const text = (h: HeaderPair[]): [string, string][] => h.map(([n, v]) => [n.toString(), v.toString()]);
const DAY = 86_400;

describe("refreshHeaders", () => {
  it("moves Date, Expires and Last-Modified in every HTTP date form, and leaves the rest", () => {
    const out = text(
      refreshHeaders(
        pairs([
          ["Date", "Sun, 06 Nov 1994 08:49:37 GMT"],
          ["expires", "Sunday, 06-Nov-94 08:49:37 GMT"],
          ["Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT"],
          ["X-Date", "Sun, 06 Nov 1994 08:49:37 GMT"],
        ]),
        DAY,
      ),
    );
    expect(out).toEqual([
      ["Date", "Mon, 07 Nov 1994 08:49:37 GMT"],
      ["expires", "Mon, 07 Nov 1994 08:49:37 GMT"],
      ["Last-Modified", "Mon, 07 Nov 1994 08:49:37 GMT"],
      ["X-Date", "Sun, 06 Nov 1994 08:49:37 GMT"],
    ]);
  });

  it("leaves values that are not dates (Expires: 0 means already expired)", () => {
    expect(text(refreshHeaders(pairs([["Expires", "0"], ["Expires", "-1"], ["Date", "soon"]]), DAY))).toEqual([
      ["Expires", "0"],
      ["Expires", "-1"],
      ["Date", "soon"],
    ]);
  });

  it("moves cookie expiry, drops an expiry that is not a date, keeps a cookie without a value", () => {
    const out = text(
      refreshHeaders(
        pairs([
          ["Set-Cookie", "sid=1; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Path=/"],
          ["Set-Cookie", "a=1; expires=never; HttpOnly"],
          ["Set-Cookie", "novalue; Expires=Sun, 06 Nov 1994 08:49:37 GMT"],
        ]),
        DAY,
      ),
    );
    expect(out[0]![1]).toBe("sid=1; Expires=Mon, 07 Nov 1994 08:49:37 GMT; Path=/");
    expect(out[1]![1]).toBe("a=1; HttpOnly");
    expect(out[2]![1]).toBe("novalue; Expires=Sun, 06 Nov 1994 08:49:37 GMT");
  });
});
