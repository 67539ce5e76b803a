import { describe, expect, it } from "vitest";
import { diffJson } from "../../src/model/json-diff.js";

describe("diffJson", () => {
  it("names differences by path", () => {
    const a = {
      items: [
        { id: 1, name: "alpha" },
        { id: 2, name: "beta" },
      ],
      total: 2,
    };
    const b = {
      total: 2,
      items: [
        { id: 1, name: "alpha" },
        { id: 2, name: "gamma" },
      ],
    };
    expect(diffJson(a, b)).toEqual([{ path: "$.items[1].name", a: "beta", b: "gamma" }]);
  });

  it("reports keys and elements present on one side only, without the other side", () => {
    expect(diffJson({ x: 1, list: [1] }, { list: [1, 2], y: null })).toEqual([
      { path: "$.x", a: 1 },
      { path: "$.list[1]", b: 2 },
      { path: "$.y", b: null },
    ]);
  });

  it("reports a change of type at its path", () => {
    expect(diffJson({ v: "1" }, { v: 1 })).toEqual([{ path: "$.v", a: "1", b: 1 }]);
    expect(diffJson([1], { 0: 1 })).toEqual([{ path: "$", a: [1], b: { 0: 1 } }]);
  });

  it("quotes keys that are not identifiers", () => {
    expect(diffJson({ "a b": 1, "x-y": { "0": 1 } }, { "a b": 2, "x-y": { "0": 2 } })).toEqual([
      { path: '$["a b"]', a: 1, b: 2 },
      { path: '$["x-y"]["0"]', a: 1, b: 2 },
    ]);
  });

  it("finds nothing in equal values with keys in another order", () => {
    expect(diffJson({ a: 1, b: [true, null] }, { b: [true, null], a: 1 })).toEqual([]);
  });
});
