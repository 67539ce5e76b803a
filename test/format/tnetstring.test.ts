import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  DictIndex,
  IndexedDict,
  PyFloat,
  RawElement,
  TnetstringError,
  decode,
  decodeShallowDict,
  encode,
  pythonFloatRepr,
  spanAt,
  type TDict,
  type TKey,
  type TValue,
} from "../../src/format/tnetstring.js";
import { allMitmFiles } from "../helpers.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");

/** Splits a flow file into the byte ranges of its top-level elements. */
function elements(file: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < file.length; ) {
    const s = spanAt(file, pos, file.length);
    out.push(file.subarray(pos, s.next));
    pos = s.next;
  }
  return out;
}

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

  it("reads UTF-8 text and writes its byte length", () => {
    const wire = Buffer.concat([b("19:this is unicode "), Buffer.from("★", "utf8"), b(";")]);
    expect(decode(wire)).toBe("this is unicode ★");
    expect(encode("é").equals(Buffer.concat([b("2:"), Buffer.from("é"), b(";")]))).toBe(true);
  });

  it("writes dicts in reverse insertion order and reads them back in insertion order", () => {
    const d: TDict = new Map<string, number>([
      ["a", 1],
      ["b", 2],
    ]);
    expect(encode(d).toString("latin1")).toBe("16:1:b;1:2#1:a;1:1#}");
    expect([...(decode(b("16:1:b;1:2#1:a;1:1#}")) as TDict).keys()]).toEqual(["a", "b"]);
  });

  it("keeps bytes dict keys as bytes", () => {
    const wire = "51:5:hello,39:11:12345678901#4:this,4:true!0:~4:\0\0\0\0,]}";
    const d = decode(b(wire)) as TDict;
    const [key] = [...d.keys()];
    expect(Buffer.isBuffer(key)).toBe(true);
    expect(encode(d).toString("latin1")).toBe(wire);
  });

  it("keeps integral floats as floats, and int timestamps as ints", () => {
    expect(decode(b("6:1700.0^"))).toEqual(new PyFloat(1700));
    expect(encode(decode(b("6:1700.0^"))).toString()).toBe("6:1700.0^");
    expect(encode(decode(b("9:946681200#"))).toString()).toBe("9:946681200#");
    expect(encode(new PyFloat(-0)).toString()).toBe("4:-0.0^");
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
    const badNumbers = ["0:^", "5:1.2.3^", "2:e5^", "1:-^", "3:1e+^", "4:0x10^", "0:#", "1:-#", "2:+5#", "3:1.0#", "3:1 2#"];
    for (const bad of ["5:true!", "3:abc~", "1:x?", "abc", "5:12", "2:1.#", "1:x#", "4:nope^", "3:1:a]", ...badNumbers]) {
      expect(() => decode(b(bad)), bad).toThrow(TnetstringError);
    }
  });

  it("DictIndex reads one entry without the others, the later of a repeated key", () => {
    const d = new DictIndex(b("35:1:a;1:1#1:b;4:3:x;]1:a;1:2#1:c,1:z,}"));
    const entry = (key: string): unknown => (d.find(key) < 0 ? undefined : d.valueAt(d.find(key)));
    expect(entry("a")).toBe(2);
    expect(entry("b")).toBeInstanceOf(RawElement);
    expect(entry("c")).toBeUndefined(); // a bytes key is not the text key
    expect(entry("zz")).toBeUndefined();
    expect(() => new DictIndex(b("5:1:a;1}"))).toThrow(TnetstringError);
    expect(() => new DictIndex(b("4:1:a,]"))).toThrow(TnetstringError);
    expect(() => new DictIndex(b("9:1:a;1:1#}x"))).toThrow(TnetstringError);
  });

  it("DictIndex finds bytes keys only when asked to (the oldest formats wrote keys as bytes)", () => {
    const d = new DictIndex(encode(new Map<TKey, TValue>([["type", "http"], [b("version"), 17]]) as TDict));
    expect(d.find("version")).toBe(-1);
    expect(d.valueAt(d.find("version", true))).toBe(17);
    expect(d.valueAt(d.find("type"))).toBe("http");
    expect(d.find("type") >= 0 && d.find("typ") < 0).toBe(true);
    expect(d.length).toBe(2);
    expect(d.keys).toEqual([b("version"), "type"]);
  });

  it("refuses a 13-digit length prefix", () => {
    expect(() => decode(b("1234567890123:x,"))).toThrow(/absurdly large/);
  });
});

describe("Python float repr", () => {
  const cases: [number, string][] = [
    [1, "1.0"],
    [100, "100.0"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [1234567890123456, "1234567890123456.0"],
    [1e16, "1e+16"],
    [1795234473.6971226, "1795234473.6971226"],
    [1.5e300, "1.5e+300"],
    [5e-324, "5e-324"],
    [-2.5, "-2.5"],
    [Infinity, "inf"],
    [-Infinity, "-inf"],
    [NaN, "nan"],
    [0, "0.0"],
    [-0, "-0.0"],
    [0.1 + 0.2, "0.30000000000000004"],
    [123456789.123, "123456789.123"],
    // at the edges of fixed notation (values from Python 3's repr)
    [9.999999999999999e-5, "9.999999999999999e-05"],
    [9999999999999998, "9999999999999998.0"],
    [2 ** 53, "9007199254740992.0"],
    [-2.5e-4, "-0.00025"],
    [1e22, "1e+22"],
    [1.5e-7, "1.5e-07"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [-123456, "-123456.0"],
  ];
  for (const [x, repr] of cases) it(`${repr}`, () => expect(pythonFloatRepr(x)).toBe(repr));
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

describe("duplicate dict keys", () => {
  it("keep the value later in the file, as Python's reader does", () => {
    expect((decode(b("16:1:a;1:1#1:a;1:2#}")) as TDict).get("a")).toBe(2);
  });
});

describe("encoding a shallowly decoded dict", () => {
  it("copies unchanged entries and re-encodes changed ones", () => {
    const state = (a: number, b: number): TDict => new Map<string, unknown>([["c", null], ["a", new Map([["x", a]])], ["b", b]]) as TDict;
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
    const bytes = encode(new Map<string, unknown>([["c", [b("x")]], ["b", 2], ["a", 1]]) as TDict); // file order a, b, c
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
