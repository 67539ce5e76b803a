import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RawElement, decodeRaw, decodeShallowDict, encode, visitBytePairs } from "../../../src/format/tnetstring.js";
import { allMitmFiles } from "../../helpers.js";
import { b, elements } from "./elements.js";

/** The pairs visitBytePairs hands out, as [name, value] buffers. */
function visited(raw: RawElement): [Buffer, Buffer][] | false {
  const pairs: [Buffer, Buffer][] = [];
  const ok = visitBytePairs(raw, (buf, ns, ne, vs, ve) => pairs.push([buf.subarray(ns, ne), buf.subarray(vs, ve)]));
  return ok && pairs;
}

describe("visitBytePairs", () => {
  it("visits the header pairs of every request and response in the test files as decoding reads them", () => {
    let checked = 0;
    for (const path of allMitmFiles())
      for (const flow of elements(readFileSync(path))) {
        const top = decodeShallowDict(flow);
        for (const side of ["request", "response"]) {
          const message = top.get(side);
          if (!(message instanceof RawElement)) continue;
          const headers = (decodeShallowDict(message.bytes).get("headers") ?? null) as unknown;
          if (!(headers instanceof RawElement)) continue;
          const decoded = decodeRaw(headers) as unknown[];
          const pairs = visited(headers);
          if (pairs === false) continue; // not all byte pairs (old formats): decoded the usual way
          expect(pairs).toEqual(decoded);
          checked++;
        }
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
