/** `reflow convert --filter`: only matching flows are written, each byte for byte as read. */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { rawFlows, reflow, testdata } from "../helpers.js";

describe("reflow convert --filter", () => {
  const dir = mkdtempSync(join(tmpdir(), "reflow-convert-filter-"));

  it("writes only the matching flows, unchanged and in order", () => {
    const input = join(testdata, "captures", "real-v17.mitm");
    const out = join(dir, "some.mitm");
    const r = reflow(["convert", input, "-o", out, "--filter", "~c 404 | ~tcp"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(r.stderr.toString()).toMatch(/3 flows written .*, 12 not matching the filter/);
    const original = rawFlows(readFileSync(input));
    expect(rawFlows(readFileSync(out))).toEqual([original[6], original[12], original[13]]);
  });

  it("refuses a malformed filter before creating the output", () => {
    const out = join(dir, "none.mitm");
    const r = reflow(["convert", join(testdata, "captures", "real-v17.mitm"), "-o", out, "-f", "~c404"]);
    expect(r.status).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});
