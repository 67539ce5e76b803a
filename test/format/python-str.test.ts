import { describe, expect, it } from "vitest";
import { pythonRepr, pythonStr } from "../../src/format/python-str.js";
import { PyFloat, RawElement, type TDict, encode } from "../../src/format/tnetstring.js";

describe("pythonStr", () => {
  it("writes state values as Python's str() does (values from Python 3)", () => {
    const dict: TDict = new Map<string, unknown>([
      ["a", 1],
      ["b", [true, null, new PyFloat(1)]],
    ]) as TDict;
    expect(pythonStr(dict)).toBe("{'a': 1, 'b': [True, None, 1.0]}");
    expect(pythonStr("it's")).toBe("it's");
    expect(pythonRepr("it's")).toBe(`"it's"`);
    expect(pythonRepr("a\tb\u0085\u{1F600}")).toBe("'a\\tb\\x85\u{1F600}'");
    expect(pythonRepr(Buffer.from([0x00, 0x27, 0x41, 0xff]))).toBe(`b"\\x00'A\\xff"`);
    expect(pythonRepr(0.1)).toBe("0.1");
    expect(pythonRepr(12345678901234567890n)).toBe("12345678901234567890");
  });

  it("reads a raw element before writing it", () => {
    expect(pythonStr(RawElement.of(encode([1, "x"])))).toBe("[1, 'x']");
  });
});
