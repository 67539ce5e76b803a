import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  DictIndex,
  IndexedDict,
  RawElement,
  decodeShallowDict,
  encode,
  type TDict,
} from "../../../src/format/tnetstring.js";
import { allMitmFiles } from "../../helpers.js";
import { b, elements } from "./elements.js";

describe("IndexedDict", () => {
  /** Every top-level dict of the test files, and every dict one level below (requests, responses, connections). */
  function dictsOfTestFiles(): Buffer[] {
    const out: Buffer[] = [];
    for (const path of allMitmFiles())
      for (const flow of elements(readFileSync(path))) {
        out.push(flow);
        for (const v of decodeShallowDict(flow).values())
          if (v instanceof RawElement && v.bytes[v.bytes.length - 1] === 0x7d) out.push(v.bytes);
      }
    return out;
  }

  it("reads, iterates and re-encodes as the dict decodeDict makes, over every test file", () => {
    let checked = 0;
    for (const bytes of dictsOfTestFiles()) {
      const plain = decodeShallowDict(bytes);
      const lazy = new IndexedDict(new DictIndex(bytes));
      for (const key of plain.keys())
        if (typeof key === "string") expect(encode(lazy.get(key)!).equals(encode(plain.get(key)!))).toBe(true);
      expect(encode(lazy).equals(bytes)).toBe(true); // unfilled: copied entry by entry
      expect([...lazy.keys()]).toEqual([...plain.keys()]);
      expect(lazy.size).toBe(plain.size);
      expect(encode(lazy).equals(bytes)).toBe(true); // filled
      checked++;
    }
    expect(checked).toBeGreaterThan(300);
  });

  it("keeps what was set before it was filled, in place, and new keys last", () => {
    const bytes = encode(
      new Map<string, unknown>([
        ["c", [b("x")]],
        ["b", 2],
        ["a", 1],
      ]) as TDict,
    ); // file order a, b, c
    const expected = decodeShallowDict(bytes);
    const lazy = new IndexedDict(new DictIndex(bytes));
    for (const d of [expected, lazy]) {
      d.set("b", "two");
      d.set("z", null);
      d.set("c", ["y"]);
    }
    expect(lazy.unfilled).not.toBeNull();
    expect(lazy.has("z") && lazy.has("a") && !lazy.has("q")).toBe(true);
    expect(encode(lazy).equals(encode(expected))).toBe(true);
    expect([...lazy]).toEqual([...expected]);
    expect(lazy.unfilled).toBeNull();
    expect(lazy.delete("a")).toBe(true);
    expect([...lazy.keys()]).toEqual(["c", "b", "z"]); // insertion order: the file's back to front, then the new key
  });

  it("reads a repeated key as its later entry, and fills as decodeDict does", () => {
    const bytes = b("16:1:a;1:1#1:a;1:2#}");
    const lazy = new IndexedDict(new DictIndex(bytes));
    expect(lazy.get("a")).toBe(2);
    expect(encode(lazy).equals(encode(decodeShallowDict(bytes)))).toBe(true);
    expect([...lazy]).toEqual([["a", 2]]);
  });
});
