/**
 * JsonLineEncoder against flowToJsonLine where the encoder reads differently: a request's
 * parts are read once each (the url made from them), so damage in them must still be met
 * in the order flowToJson meets it, and named the same way.
 */
import { describe, expect, it } from "vitest";
import type { TDict, TValue } from "../../../src/format/tnetstring.js";
import { bothWays, edited } from "./jsonl-reference.js";

const V21 = "captures/tflow-v21.mitm";

describe("JsonLineEncoder's requests", () => {
  const damage: [string, TValue][] = [
    ["authority", 7],
    ["path", 3],
    ["scheme", [1]],
    ["host", 7],
    ["host", Buffer.from("xn--.example")], // not a valid IDNA label: decoding it throws
    ["port", Buffer.from("x")],
  ];
  const methods: [string, TValue][] = [
    ["GET", Buffer.from("GET")],
    ["CONNECT", Buffer.from("connect")],
    ["a method of the wrong kind", 5],
  ];
  const cases = methods.flatMap(([m, method]) =>
    damage.flatMap(([a, av], i) =>
      [[`${m}, whole`], ...damage.slice(i).map(([b, bv]) => [`${m}, ${a} and ${b} damaged`, b, bv])].map(
        ([name, b, bv]) => [name as string, method, a, av, b as string | undefined, bv as TValue] as const,
      ),
    ),
  );

  it.each(cases)("%s: the line or the error of flowToJsonLine", async (_n, method, a, av, b, bv) => {
    const bytes = edited(V21, (flow) => {
      const request = flow.get("request") as TDict;
      request.set("method", method);
      if (b !== undefined) {
        request.set(a, av);
        request.set(b, bv);
      }
      request.set("authority", request.get("authority") ?? Buffer.alloc(0));
    });
    const { encoded, reference } = await bothWays(bytes);
    expect(encoded).toEqual(reference);
  });

  it("writes the url of every form: origin, absolute, CONNECT, asterisk", async () => {
    const forms: [TValue, TValue, TValue][] = [
      [Buffer.from("GET"), Buffer.alloc(0), Buffer.from("/a?b")],
      [Buffer.from("GET"), Buffer.from("example.com:8080"), Buffer.from("/a")],
      [Buffer.from("CONNECT"), Buffer.from("example.com:443"), Buffer.alloc(0)],
      [Buffer.from("OPTIONS"), Buffer.alloc(0), Buffer.from("*")],
    ];
    for (const [method, authority, path] of forms) {
      const bytes = edited(V21, (flow) => {
        const request = flow.get("request") as TDict;
        request.set("method", method);
        request.set("authority", authority);
        request.set("path", path);
      });
      const { encoded, reference } = await bothWays(bytes);
      expect(reference[0]).toMatch(/^\{/);
      expect(encoded).toEqual(reference);
    }
  });
});
