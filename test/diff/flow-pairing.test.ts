import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { type FlowPair, pairFlows } from "../../src/diff/flow-pairing.js";
import { readFlows } from "../../src/io/flow-source.js";
import type { Flow, HTTPFlow } from "../../src/model/index.js";
import { fixtures } from "../helpers.js";

/** The sample's flows, read twice: the same flows (same ids) as distinct objects. */
let sample: HTTPFlow[];
let again: HTTPFlow[];
beforeAll(async () => {
  sample = [];
  again = [];
  for await (const f of readFlows(join(fixtures, "sample.mitm"))) sample.push(f as HTTPFlow);
  for await (const f of readFlows(join(fixtures, "sample.mitm"))) again.push(f as HTTPFlow);
});

async function* stream(flows: Flow[]): AsyncGenerator<Flow> {
  yield* flows;
}

async function pairs(
  a: Flow[],
  b: Flow[],
  mode: "id" | "request" | "order",
): Promise<[string | null, string | null][]> {
  const out: [string | null, string | null][] = [];
  const name = (f: Flow | null, side: Flow[], prefix: string): string | null =>
    f ? `${prefix}${side.indexOf(f)}` : null;
  for await (const p of pairFlows(stream(a), stream(b), mode) as AsyncGenerator<FlowPair>)
    out.push([name(p.a, a, "a"), name(p.b, b, "b")]);
  return out;
}

describe("pairFlows", () => {
  it("pairs by id whatever the order, unpaired flows last in file order", async () => {
    const [f0, f1, f2, f3] = sample;
    const [g0, g1, g2] = again;
    expect(await pairs([f0!, f1!, f2!, f3!], [g2!, f0!.copy(), g0!, g1!], "id")).toEqual([
      ["a2", "b0"],
      ["a0", "b2"],
      ["a1", "b3"],
      ["a3", null],
      [null, "b1"],
    ]);
  });

  it("pairs by request in order of appearance, ids aside", async () => {
    const [f0, f1] = sample;
    const a = [f0!, f1!, f0!.copy()];
    const b = [f1!.copy(), f0!.copy(), f0!.copy(), f0!.copy()];
    // the first f0 of A pairs with the first f0 of B, the second with the second
    expect(await pairs(a, b, "request")).toEqual([
      ["a1", "b0"],
      ["a0", "b1"],
      ["a2", "b2"],
      [null, "b3"],
    ]);
  });

  it("pairs by position with --by order", async () => {
    const [f0, f1, f2] = sample;
    const [g0, g1] = again;
    expect(await pairs([f0!, f1!], [f2!, g1!, g0!], "order")).toEqual([
      ["a0", "b0"],
      ["a1", "b1"],
      [null, "b2"],
    ]);
  });

  it("keeps waiting flows few when both files are in the same order", async () => {
    let most = 0;
    let waiting = 0;
    const a = Array.from({ length: 200 }, (_, i) => sample[i % 7]!.copy());
    const b = [sample[0]!.copy(), ...a]; // one extra flow at the start shifts B by one
    for await (const p of pairFlows(stream(a), stream(b), "id", (f) => {
      most = Math.max(most, ++waiting);
      return f;
    })) {
      if (p.a && p.b) waiting--;
    }
    expect(most).toBeLessThanOrEqual(3);
  });
});
