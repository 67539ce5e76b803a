import { statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { type ReadPosition, readFlowRecords, watchReadPosition } from "../../src/io/flow-source.js";
import { testdata } from "../helpers.js";

describe("watchReadPosition", () => {
  it("tells a watcher how far reading has got, up to the end of the input, until it stops watching", async () => {
    const file = join(testdata, "captures", "real-v17.mitm");
    const seen: ReadPosition[] = [];
    const unwatch = watchReadPosition((p) => seen.push({ ...p }));
    let flows = 0;
    for await (const _ of readFlowRecords(file)) flows++;
    unwatch();
    expect(flows).toBeGreaterThan(0);
    const size = statSync(file).size;
    expect(seen[0]).toEqual({ file, offset: 0, size });
    expect(seen.at(-1)).toEqual({ file, offset: size, size });
    const offsets = seen.map((p) => p.offset);
    expect(offsets).toEqual([...offsets].sort((a, b) => a - b));

    const before = seen.length;
    for await (const _ of readFlowRecords(file)) flows++;
    expect(seen.length, "told after it stopped watching").toBe(before);
  });
});
