import { describe, expect, it } from "vitest";
import { internedAscii } from "../../../src/format/tnetstring.js";
import { b } from "./elements.js";

describe("internedAscii", () => {
  it("gives short ASCII bytes as their text, and nothing for long or non-ASCII bytes", () => {
    const buf = b("xxcontent-typexx");
    expect(internedAscii(buf, 2, 14)).toBe("content-type");
    expect(internedAscii(b("a".repeat(33)), 0, 33)).toBeUndefined();
    expect(internedAscii(Buffer.from("café"), 0, 5)).toBeUndefined();
    expect(internedAscii(buf, 0, 0)).toBe("");
  });

  it("tells apart different bytes that share a slot", () => {
    const seen = new Map<string, string>();
    for (let i = 0; i < 10_000; i++) {
      const text = `k${i}`;
      const got = internedAscii(b(text), 0, text.length)!;
      expect(got).toBe(text);
      seen.set(text, got);
    }
    expect(seen.size).toBe(10_000);
  });
});
