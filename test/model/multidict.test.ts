import { describe, expect, it } from "vitest";
import { MultiDict, MultiDictView } from "../../src/model/multidict.js";

describe("MultiDict", () => {
  const make = () =>
    new MultiDict<string>([
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
    ]);

  it("get returns the first value, getAll all of them", () => {
    const d = make();
    expect(d.get("a")).toBe("1");
    expect(d.getAll("a")).toEqual(["1", "3"]);
    expect(d.get("A")).toBeUndefined(); // keys are case-sensitive
    expect(d.size).toBe(2);
    expect(d.length).toBe(3);
    expect([...d.keys()]).toEqual(["a", "b"]);
    expect([...d]).toEqual([
      ["a", "1"],
      ["b", "2"],
      ["a", "3"],
    ]);
    expect(d.toObject()).toEqual({ a: "1", b: "2" });
  });

  it("set keeps the first place, setAll reuses places then appends, delete removes all", () => {
    const d = make();
    d.set("a", "x");
    expect(d.fields).toEqual([
      ["a", "x"],
      ["b", "2"],
    ]);
    d.setAll("b", ["p", "q"]);
    expect(d.fields).toEqual([
      ["a", "x"],
      ["b", "p"],
      ["b", "q"],
    ]);
    d.insert(0, "z", "0").add("a", "y");
    expect(d.fields[0]).toEqual(["z", "0"]);
    expect(d.getAll("a")).toEqual(["x", "y"]);
    expect(d.delete("b")).toBe(true);
    expect(d.delete("b")).toBe(false);
    expect(d.has("b")).toBe(false);
  });

  it("a view reads through its getter and writes every change through its setter", () => {
    let backing: [string, string][] = [["k", "v"]];
    const writes: [string, string][][] = [];
    const view = new MultiDictView<string>(
      () => backing,
      (f) => {
        writes.push(f);
        backing = f;
      },
    );
    view.add("k", "w");
    expect(backing).toEqual([
      ["k", "v"],
      ["k", "w"],
    ]);
    backing = [["other", "1"]];
    expect(view.get("other")).toBe("1");
    view.clear();
    expect(backing).toEqual([]);
    expect(writes).toHaveLength(2);
    expect(view.copy()).toBeInstanceOf(MultiDict);
  });
});
