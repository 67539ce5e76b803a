/** HAR export against mitmproxy's own: its test flows must export to its golden HAR files. */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readFlows } from "../../../src/io/flow-source.js";
import { HarEntryMaker, isoTimestamp } from "../../../src/io/formats/har-writer.js";
import { testdata } from "../../helpers.js";

const flowsDir = join(testdata, "mitmproxy-tests", "flows");
const mitmFiles = readdirSync(flowsDir)
  .filter((f) => f.endsWith(".mitm"))
  .sort();

describe("HAR entries equal mitmproxy's savehar output", () => {
  it.each(mitmFiles)("%s", async (name) => {
    const golden = JSON.parse(readFileSync(join(flowsDir, name.replace(/\.mitm$/, ".har")), "utf8"));
    const maker = new HarEntryMaker();
    const entries: unknown[] = [];
    for await (const flow of readFlows(join(flowsDir, name))) {
      const e = maker.entry(flow);
      if (e) entries.push(JSON.parse(JSON.stringify(e)));
    }
    expect(entries.length, "entry count").toBe(golden.log.entries.length);
    for (let i = 0; i < entries.length; i++) expect(entries[i], `entry #${i}`).toEqual(golden.log.entries[i]);
  });
});

describe("isoTimestamp", () => {
  it("writes Python's isoformat", () => {
    expect(isoTimestamp(0)).toBe("1970-01-01T00:00:00+00:00");
    expect(isoTimestamp(1.5)).toBe("1970-01-01T00:00:01.500000+00:00");
  });
});
