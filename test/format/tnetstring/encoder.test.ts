import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { PyFloat, RawElement, decode, decodeShallowDict, encode, type TDict } from "../../../src/format/tnetstring.js";
import { allMitmFiles } from "../../helpers.js";
import { b, elements } from "./elements.js";

describe("the encoder", () => {
  it("writes dicts in reverse insertion order and reads them back in insertion order", () => {
    const d: TDict = new Map<string, number>([
      ["a", 1],
      ["b", 2],
    ]);
    expect(encode(d).toString("latin1")).toBe("16:1:b;1:2#1:a;1:1#}");
    expect([...(decode(b("16:1:b;1:2#1:a;1:1#}")) as TDict).keys()]).toEqual(["a", "b"]);
  });

  it("keeps integral floats as floats, and int timestamps as ints", () => {
    expect(decode(b("6:1700.0^"))).toEqual(new PyFloat(1700));
    expect(encode(decode(b("6:1700.0^"))).toString()).toBe("6:1700.0^");
    expect(encode(decode(b("9:946681200#"))).toString()).toBe("9:946681200#");
    expect(encode(new PyFloat(-0)).toString()).toBe("4:-0.0^");
  });
});

describe("every flow in ../shared/testdata round-trips through the codec byte for byte", () => {
  for (const file of allMitmFiles()) {
    it(file.split("testdata/")[1]!, () => {
      const bytes = readFileSync(file);
      const flows = elements(bytes);
      expect(flows.length).toBeGreaterThan(0);
      for (const flow of flows) {
        expect(encode(decode(flow)).equals(flow)).toBe(true);
        // shallow decoding keeps nested containers as their original bytes
        const shallow = decodeShallowDict(flow);
        expect([...shallow.values()].some((v) => v instanceof RawElement)).toBe(true);
        expect(encode(shallow).equals(flow)).toBe(true);
      }
    });
  }
});

describe("encoding a shallowly decoded dict", () => {
  it("copies unchanged entries and re-encodes changed ones", () => {
    const state = (a: number, b: number): TDict =>
      new Map<string, unknown>([
        ["c", null],
        ["a", new Map([["x", a]])],
        ["b", b],
      ]) as TDict;
    const wire = encode(state(1, 2));
    expect(wire.toString("latin1")).toBe("30:1:b;1:2#1:a;8:1:x;1:1#}1:c;0:~}");
    const d = decodeShallowDict(wire);
    expect(d.get("a")).toBeInstanceOf(RawElement);
    expect(encode(d).equals(wire)).toBe(true);
    d.set("b", 3);
    expect(encode(d).equals(encode(state(1, 3)))).toBe(true);
    d.set("a", new Map([["x", 2]]));
    expect(encode(d).equals(encode(state(2, 3)))).toBe(true);
  });
});
