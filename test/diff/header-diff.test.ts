import { describe, expect, it } from "vitest";
import type { Change } from "../../src/diff/changes.js";
import { diffHeaders } from "../../src/diff/header-diff.js";
import { Headers } from "../../src/model/index.js";

function diff(a: [string, string][], b: [string, string][], ignored: string[] = [], ordered = false): Change[] {
  const out: Change[] = [];
  diffHeaders("response.headers", new Headers(a).fields, new Headers(b).fields, new Set(ignored), ordered, out);
  return out;
}

describe("diffHeaders", () => {
  it("compares names case-insensitively and ignores order", () => {
    expect(
      diff(
        [
          ["Content-Type", "a"],
          ["X", "1"],
        ],
        [
          ["x", "1"],
          ["content-type", "a"],
        ],
      ),
    ).toEqual([]);
  });

  it("reports added, removed and changed names with all their values", () => {
    expect(
      diff(
        [
          ["A", "1"],
          ["B", "2"],
          ["Set-Cookie", "x"],
          ["Set-Cookie", "y"],
        ],
        [
          ["B", "3"],
          ["set-cookie", "x"],
          ["C", "4"],
        ],
      ),
    ).toEqual([
      { kind: "header", field: "response.headers", name: "A", a: ["1"], b: [] },
      { kind: "header", field: "response.headers", name: "B", a: ["2"], b: ["3"] },
      { kind: "header", field: "response.headers", name: "set-cookie", a: ["x", "y"], b: ["x"] },
      { kind: "header", field: "response.headers", name: "C", a: [], b: ["4"] },
    ]);
  });

  it("keeps repeated values a multiset: their order does not matter by default", () => {
    expect(
      diff(
        [
          ["V", "1"],
          ["V", "2"],
        ],
        [
          ["V", "2"],
          ["V", "1"],
        ],
      ),
    ).toEqual([]);
    expect(
      diff(
        [
          ["V", "1"],
          ["V", "2"],
        ],
        [
          ["V", "2"],
          ["V", "1"],
        ],
        [],
        true,
      ),
    ).toHaveLength(1);
  });

  it("leaves out ignored names in any case", () => {
    expect(
      diff(
        [["Date", "x"]],
        [
          ["date", "y"],
          ["ETag", "z"],
        ],
        ["date", "etag"],
      ),
    ).toEqual([]);
  });

  it("reports fields that only moved with --header-order", () => {
    expect(
      diff(
        [
          ["A", "1"],
          ["B", "2"],
        ],
        [
          ["B", "2"],
          ["A", "1"],
        ],
        [],
        true,
      ),
    ).toEqual([{ kind: "header-order", field: "response.headers", a: ["A", "B"], b: ["B", "A"] }]);
  });

  it("treats no trailers like empty trailers", () => {
    const out: Change[] = [];
    diffHeaders("response.trailers", null, [], new Set(), false, out);
    expect(out).toEqual([]);
  });
});
