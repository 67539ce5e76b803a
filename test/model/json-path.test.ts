/** JSON paths as diff prints them, read back: what diff reports, omitJsonPaths removes. */
import { describe, expect, it } from "vitest";
import { diffJson } from "../../src/model/json-diff.js";
import { JsonPathError, type JsonValue, omitJsonPaths, parseJsonPath } from "../../src/model/json-path.js";

const clone = (v: JsonValue): JsonValue => JSON.parse(JSON.stringify(v)) as JsonValue;

describe("JSON paths", () => {
  it("reads back every path diff prints, so leaving them out makes the values equal", () => {
    const a: JsonValue = { id: 1, nonce: "abc", "odd key": [1, { ts: 5, keep: true }], items: [{ ts: 1 }, { ts: 2 }] };
    const b: JsonValue = { id: 1, nonce: "xyz", "odd key": [1, { ts: 6, keep: true }], items: [{ ts: 3 }, { ts: 4 }] };
    const paths = diffJson(a, b).map((d) => d.path);
    expect(paths.length, "the values differ in several places").toBeGreaterThan(3);
    const steps = paths.map(parseJsonPath);
    expect(omitJsonPaths(clone(a), steps)).toEqual(omitJsonPaths(clone(b), steps));
  });

  it("[*] and .* stand for every element and member", () => {
    const v = omitJsonPaths({ items: [{ ts: 1, n: 1 }, { ts: 2, n: 2 }], meta: { a: 1, b: 2 } }, [
      parseJsonPath("$.items[*].ts"),
      parseJsonPath("$.meta.*"),
    ]);
    expect(v).toEqual({ items: [{ n: 1 }, { n: 2 }], meta: {} });
  });

  it("an element is blanked, so later elements keep their positions", () => {
    expect(omitJsonPaths([1, 2, 3], [parseJsonPath("$[1]")])).toEqual([1, null, 3]);
  });

  it("refuses malformed paths with the column", () => {
    for (const bad of ["nonce", "$.", "$[", "$[x]", "$..a", '$["open'])
      expect(() => parseJsonPath(bad), bad).toThrow(JsonPathError);
  });
});
