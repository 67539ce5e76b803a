import { describe, expect, it } from "vitest";
import {
  DictIndex,
  RawElement,
  TnetstringError,
  encode,
  type TDict,
  type TKey,
  type TValue,
} from "../../../src/format/tnetstring.js";
import { b } from "./elements.js";

describe("DictIndex", () => {
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

  it("simpleValueAt reads what valueAt reads for plain ints and short ASCII, and leaves the rest to it", () => {
    const values: [string, TValue][] = [
      ["int", 17],
      ["zero", 0],
      ["big", 123456789012345],
      ["negative", -3],
      ["huge", 1234567890123456],
      ["text", "http"],
      ["bytes", b("tcp")],
      ["accented", "dns\u00e9"],
      ["long", "x".repeat(40)],
      ["float", 1.5],
      ["list", [1]],
      ["none", null],
    ];
    const d = new DictIndex(encode(new Map<TKey, TValue>(values) as TDict));
    for (const [key, value] of values) {
      const simple = d.simpleValueAt(d.find(key));
      const general = d.valueAt(d.find(key));
      if (simple === undefined) continue; // read by valueAt
      expect(simple, key).toEqual(Buffer.isBuffer(general) ? general.toString("utf8") : general);
    }
    const simpleKeys = values.map(([k]) => k).filter((k) => d.simpleValueAt(d.find(k)) !== undefined);
    expect(simpleKeys).toEqual(["int", "zero", "big", "text", "bytes"]);
  });

  it("DictIndex finds bytes keys only when asked to (the oldest formats wrote keys as bytes)", () => {
    const d = new DictIndex(
      encode(
        new Map<TKey, TValue>([
          ["type", "http"],
          [b("version"), 17],
        ]) as TDict,
      ),
    );
    expect(d.find("version")).toBe(-1);
    expect(d.valueAt(d.find("version", true))).toBe(17);
    expect(d.valueAt(d.find("type"))).toBe("http");
    expect(d.find("type") >= 0 && d.find("typ") < 0).toBe(true);
    expect(d.length).toBe(2);
    expect(d.keys).toEqual([b("version"), "type"]);
  });
});
