/** JsonTextBytes writes the bytes of what JSON.stringify writes, encoded as UTF-8. */
import { describe, expect, it } from "vitest";
import { JsonTextBytes } from "../../../src/io/formats/json-text-bytes.js";

/** A small seeded generator (mulberry32): the same cases on every run. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Text mixing what JSON escapes (controls, quote, backslash) with ASCII, non-ASCII and astral characters. */
function text(next: () => number, length: number, loneSurrogates: boolean): string {
  const pool = ['"', "\\", "\n", "\t", "\r", "\b", "\f", "\x00", "\x01", "\x1f", "\x7f", "a", "Z", " ", "é", "€", "😀", "\u2028"];
  if (loneSurrogates) pool.push("\udc80", "\ud800");
  let s = "";
  for (let i = 0; i < length; i++)
    s += next() < 0.5 ? String.fromCharCode(0x20 + Math.floor(next() * 95)) : pool[Math.floor(next() * pool.length)]!;
  return s;
}

const utf8 = (s: string): string => Buffer.from(s, "utf8").toString("latin1");

describe("JsonTextBytes", () => {
  it("writes strings, with lone surrogates, as JSON.stringify does", () => {
    const next = random(1);
    const out = new JsonTextBytes();
    for (let n = 0; n < 500; n++) {
      const s = text(next, Math.floor(next() * 80), true);
      out.reset();
      out.string(s);
      expect(out.bytes().toString("latin1"), JSON.stringify(s)).toBe(utf8(JSON.stringify(s)));
    }
  });

  it("writes UTF-8 bytes at every alignment as JSON.stringify writes their text", () => {
    const next = random(2);
    const out = new JsonTextBytes();
    for (let n = 0; n < 500; n++) {
      const s = text(next, Math.floor(next() * 200), false);
      const bytes = Buffer.from(s, "utf8");
      const shift = Math.floor(next() * 5); // the four-byte test reads at any offset
      const framed = Buffer.concat([Buffer.alloc(shift, 0x22), bytes, Buffer.alloc(3, 0x5c)]);
      out.reset();
      out.utf8String(framed, shift, shift + bytes.length);
      expect(out.bytes().toString("latin1"), JSON.stringify(s)).toBe(utf8(JSON.stringify(s)));
      out.reset();
      expect(out.utf8StringIfValid(framed, shift, shift + bytes.length)).toBe(true);
      expect(out.bytes().toString("latin1")).toBe(utf8(JSON.stringify(s)));
    }
  });

  it("refuses bytes that are not UTF-8 and writes nothing for them", () => {
    const out = new JsonTextBytes();
    out.ascii("[");
    expect(out.utf8StringIfValid(Buffer.from([0x61, 0xff, 0x62]), 0, 3)).toBe(false);
    expect(out.utf8StringIfValid(Buffer.from([0xed, 0xa0, 0x80]), 0, 3)).toBe(false); // an encoded surrogate
    expect(out.bytes().toString("latin1")).toBe("[");
  });

  it("writes numbers as JSON.stringify does and grows past its first buffer", () => {
    const out = new JsonTextBytes();
    const numbers = [0, -0, 1700000000.06, 1e21, 1e-7, -12.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53 + 2];
    for (const x of numbers) {
      out.reset();
      out.number(x);
      expect(out.bytes().toString("latin1")).toBe(JSON.stringify(x));
    }
    out.reset();
    const big = Buffer.alloc(3 << 20, 0x22); // escaped, six times the first buffer
    out.utf8String(big);
    expect(out.bytes().length).toBe(big.length * 2 + 2);
    out.reset();
    out.base64String(Buffer.from("hello"));
    expect(out.bytes().toString("latin1")).toBe('"aGVsbG8="');
    out.reset();
    // made a slice at a time: the slices' base64 joins as the whole's, whatever the length
    for (const n of [(3 << 20) - 1, 3 << 20, (7 << 20) + 2]) {
      const bytes = Buffer.from(Array.from({ length: n }, (_, i) => (i * 7919) % 251));
      out.reset();
      out.base64String(bytes);
      expect(out.bytes().toString("latin1") === JSON.stringify(bytes.toString("base64")), `${n} bytes`).toBe(true);
    }
  });
});
