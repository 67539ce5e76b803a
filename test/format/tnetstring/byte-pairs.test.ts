import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RawElement, type TValue, decodeRaw, decodeShallowDict, encode, setBytePairs, visitBytePairs } from "../../../src/format/tnetstring.js";
import { allMitmFiles } from "../../helpers.js";
import { b, elements } from "./elements.js";

/** The pairs visitBytePairs hands out, as [name, value] buffers. */
function visited(raw: RawElement): [Buffer, Buffer][] | false {
  const pairs: [Buffer, Buffer][] = [];
  const ok = visitBytePairs(raw, (buf, ns, ne, vs, ve) => pairs.push([buf.subarray(ns, ne), buf.subarray(vs, ve)]));
  return ok && pairs;
}

/** The stored header lists of every request and response in the test files. */
function storedHeaderLists(): RawElement[] {
  const lists: RawElement[] = [];
  for (const path of allMitmFiles())
    for (const flow of elements(readFileSync(path))) {
      const top = decodeShallowDict(flow);
      for (const side of ["request", "response"]) {
        const message = top.get(side);
        if (!(message instanceof RawElement)) continue;
        const headers = decodeShallowDict(message.bytes).get("headers") ?? null;
        if (headers instanceof RawElement) lists.push(headers);
      }
    }
  return lists;
}

describe("visitBytePairs", () => {
  it("visits the header pairs of every request and response in the test files as decoding reads them", () => {
    let checked = 0;
    for (const headers of storedHeaderLists()) {
      const decoded = decodeRaw(headers) as unknown[];
      const pairs = visited(headers);
      if (pairs === false) continue; // not all byte pairs (old formats): decoded the usual way
      expect(pairs).toEqual(decoded);
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("declines a list that holds anything but byte pairs, and malformed bytes", () => {
    expect(visited(RawElement.of(encode([[b("a"), "text"]])))).toBe(false);
    expect(visited(RawElement.of(encode([[b("a"), b("1"), b("2")]])))).toBe(false);
    expect(visited(RawElement.of(encode(new Map())))).toBe(false);
    expect(visited(RawElement.of(b("9:3:1:a,]")))).toBe(false);
    expect(visited(RawElement.of(encode([])))).toEqual([]);
  });
});

/** What mitmproxy's `set_all` makes of decoded pairs: the reference setBytePairs is held to. */
function setAllDecoded(pairs: [Buffer, Buffer][], name: Buffer, values: Buffer[]): [Buffer, Buffer][] {
  const left = [...values];
  const out: [Buffer, Buffer][] = [];
  for (const [n, v] of pairs) {
    if (n.toString("latin1").toLowerCase() !== name.toString("latin1").toLowerCase()) out.push([n, v]);
    else if (left.length) out.push([n, left.shift()!]);
  }
  for (const v of left) out.push([name, v]);
  return out;
}

/** setBytePairs with names matched as Headers matches them (ASCII case folded). */
function setPairs(raw: RawElement, name: Buffer, values: Buffer[]): Buffer | null {
  const lower = name.toString("latin1").toLowerCase();
  return setBytePairs(raw, (buf, s, e) => buf.toString("latin1", s, e).toLowerCase() === lower, name, values);
}


describe("setBytePairs", () => {
  it("writes what encoding the decoded list after set_all writes, for every header list in the test files", () => {
    let checked = 0;
    for (const headers of storedHeaderLists()) {
      const pairs = visited(headers);
      if (pairs === false || pairs.length === 0) continue;
      const first = pairs[0]![0];
      const edits: [Buffer, Buffer[]][] = [
        [b("newheader"), [b("foo")]], // appended
        [Buffer.from(first.toString("latin1").toUpperCase(), "latin1"), [b("x")]], // replaced in place, its case kept
        [first, [b("1"), b("2"), b("3")]], // replaced, the rest appended
        [first, []], // removed
      ];
      for (const [name, values] of edits) {
        const expected = encode(setAllDecoded(pairs, name, values) as TValue);
        const written = setPairs(headers, name, values);
        expect(written?.toString("latin1"), `${name} in ${headers.bytes.toString("latin1").slice(0, 60)}`).toBe(
          expected.toString("latin1"),
        );
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(50);
  });

  it("declines lists it cannot rewrite exactly: not byte pairs, or lengths written with leading zeros", () => {
    const one = (s: string): RawElement => RawElement.of(b(s));
    const set = (list: string, name: string, value: string): string | undefined => setPairs(one(list), b(name), [b(value)])?.toString("latin1");
    expect(set("11:8:1:a,1:1,]]", "b", "x")).toBe("22:8:1:a,1:1,]8:1:b,1:x,]]");
    expect(set("10:7:1:a,0:,]]", "A", "")).toBe("10:7:1:a,0:,]]");
    expect(set("0:]", "b", "x")).toBe("11:8:1:b,1:x,]]");
    expect(setPairs(RawElement.of(encode([[b("a"), "text"]])), b("a"), [b("x")])).toBeNull();
    expect(set("15:12:1:a,1:1,1:2,]]", "b", "x")).toBeUndefined(); // a pair of three
    expect(set("011:8:1:a,1:1,]]", "b", "x")).toBeUndefined();
    expect(set("12:08:1:a,1:1,]]", "b", "x")).toBeUndefined();
    expect(set("12:9:01:a,1:1,]]", "b", "x")).toBeUndefined();
    expect(set("12:9:1:a,01:1,]]", "b", "x")).toBeUndefined();
    expect(set("11:8:1:a,1:1,]}", "b", "x")).toBeUndefined(); // not a list
    expect(set("11:8:1:a,1:1,]", "b", "x")).toBeUndefined(); // cut short
  });
});
