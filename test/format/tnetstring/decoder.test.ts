import { describe, expect, it } from "vitest";
import { PyFloat, TnetstringError, decode, encode, type TDict } from "../../../src/format/tnetstring.js";
import { b } from "./elements.js";

describe("tnetstring vectors (mitm-format.md §1.2)", () => {
  const vectors: [string, unknown][] = [
    ["0:}", new Map()],
    ["0:]", []],
    ["0:,", Buffer.alloc(0)],
    ["0:;", ""],
    ["5:12345#", 12345],
    ["12:this is cool,", b("this is cool")],
    ["24:5:12345#5:67890#5:xxxxx,]", [12345, 67890, b("xxxxx")]],
    ["18:3:0.1^3:0.2^3:0.3^]", [0.1, 0.2, 0.3]],
    ["8:1:1#1:2#]", [1, 2]],
    ["0:~", null],
    ["4:true!", true],
    ["5:false!", false],
    ["20:18446744073709551616#", 18446744073709551616n],
  ];
  for (const [wire, value] of vectors) {
    it(`decodes and re-encodes ${wire}`, () => {
      expect(decode(b(wire))).toEqual(value);
      expect(encode(decode(b(wire))).toString("latin1")).toBe(wire);
    });
  }

  it("reads floats as Number() reads their text: short decimals (read without a string) and every other form", () => {
    let seed = 7;
    const next = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    const digits = (n: number): string => Array.from({ length: n }, () => String(next(10))).join("");
    const texts = ["0", "-0", "0.0", "-0.0", "1.", ".5", "-.5", "007.50", "1700000000.05", "1700000000.4299998", "9007199254740993",
      "123456789012345", "1234567890123456", "0.1", "1e21", "1E-7", "+1.5", "-1700000000.0", "0.000000000000000000001"];
    for (let i = 0; i < 5000; i++) {
      const point = next(18);
      const int = digits(1 + next(17));
      texts.push(`${next(2) ? "-" : ""}${point < int.length ? `${int.slice(0, point)}.${int.slice(point)}` : int}`);
    }
    for (const text of texts) {
      const value = decode(b(`${text.length}:${text}^`));
      const expected = Number(text);
      const read = value instanceof PyFloat ? value.value : value;
      expect(Object.is(read, expected), text).toBe(true);
      expect(value instanceof PyFloat, text).toBe(Number.isInteger(expected));
    }
  });

  it("reads UTF-8 text and writes its byte length", () => {
    const wire = Buffer.concat([b("19:this is unicode "), Buffer.from("★", "utf8"), b(";")]);
    expect(decode(wire)).toBe("this is unicode ★");
    expect(encode("é").equals(Buffer.concat([b("2:"), Buffer.from("é"), b(";")]))).toBe(true);
  });

  it("keeps bytes dict keys as bytes", () => {
    const wire = "51:5:hello,39:11:12345678901#4:this,4:true!0:~4:\0\0\0\0,]}";
    const d = decode(b(wire)) as TDict;
    const [key] = [...d.keys()];
    expect(Buffer.isBuffer(key)).toBe(true);
    expect(encode(d).toString("latin1")).toBe(wire);
  });

  it("reads numbers as Python writes and reads them", () => {
    expect(decode(b("3:1.5^"))).toBe(1.5);
    expect(decode(b("2:5.^"))).toEqual(new PyFloat(5));
    expect(decode(b("4:-1e5^"))).toEqual(new PyFloat(-100000));
    expect(decode(b("4:+.25^"))).toBe(0.25);
    expect(decode(b("3:inf^"))).toBe(Infinity);
    expect(decode(b("4:-inf^"))).toBe(-Infinity);
    expect(Number.isNaN(decode(b("3:nan^")))).toBe(true);
    expect(decode(b("2:-0#"))).toBe(0);
    expect(decode(b("3:007#"))).toBe(7);
    expect(decode(b("5:-1234#"))).toBe(-1234);
    expect(decode(b("16:9007199254740993#"))).toBe(9007199254740993n);
    expect(decode(b("17:-9007199254740991#"))).toBe(-9007199254740991);
  });

  it("refuses malformed elements with a typed error", () => {
    const badNumbers = [
      "0:^",
      "5:1.2.3^",
      "2:e5^",
      "1:-^",
      "3:1e+^",
      "4:0x10^",
      "0:#",
      "1:-#",
      "2:+5#",
      "3:1.0#",
      "3:1 2#",
    ];
    for (const bad of [
      "5:true!",
      "3:abc~",
      "1:x?",
      "abc",
      "5:12",
      "2:1.#",
      "1:x#",
      "4:nope^",
      "3:1:a]",
      ...badNumbers,
    ]) {
      expect(() => decode(b(bad)), bad).toThrow(TnetstringError);
    }
  });

  it("refuses a 13-digit length prefix", () => {
    expect(() => decode(b("1234567890123:x,"))).toThrow(/absurdly large/);
  });
});

describe("duplicate dict keys", () => {
  it("keep the value later in the file, as Python's reader does", () => {
    expect((decode(b("16:1:a;1:1#1:a;1:2#}")) as TDict).get("a")).toBe(2);
  });
});
