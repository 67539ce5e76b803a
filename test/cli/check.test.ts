/**
 * `reflow check` reads every flow whole and names each damaged one; `--strict` on run and
 * convert does the same for the flows they pass, where the lazy default lets damage through.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { encode, type TDict } from "../../src/format/tnetstring.js";
import { allMitmFiles, fixtures, flowDicts, reflow } from "../helpers.js";

const sample = join(fixtures, "sample.mitm");
let dir: string;
let bad: string;
/** byte offsets of the flows in `bad` */
let offsets: number[];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "reflow-check-"));
  const dicts = flowDicts(readFileSync(sample));
  (dicts[2]!.get("request") as TDict).set("method", 5); // an int where bytes belong: mitmdump crashes on it
  const response = dicts[4]!.get("response") as TDict;
  (response.get("headers") as unknown[]).push([Buffer.from("content-encoding"), Buffer.from("gzip")]);
  response.set("content", Buffer.from("not gzip at all"));
  const parts = dicts.map((d) => encode(d));
  offsets = parts.map((_, i) => parts.slice(0, i).reduce((n, p) => n + p.length, 0));
  bad = join(dir, "bad.mitm");
  writeFileSync(bad, Buffer.concat(parts));
});

const lines = (r: { stderr: Buffer }): string[] => r.stderr.toString().trim().split("\n").filter(Boolean);

describe("reflow check", () => {
  it("passes every sound test file (exit 0)", () => {
    const sound = allMitmFiles().filter((f) => !/corrupted|dumpfile-010/.test(f));
    const r = reflow(["check", sample, ...sound]);
    expect(r.status, r.stderr.toString()).toBe(0);
  });

  it("reports each damaged flow with file, offset, index and field (exit 3)", () => {
    const r = reflow(["check", bad, "-q"]);
    expect(r.status).toBe(3);
    const found = lines(r);
    expect(found).toHaveLength(2);
    expect(found[0]).toContain("bad.mitm");
    expect(found[0]).toContain("request.method");
    expect(found[0]).toContain(`(byte offset ${offsets[2]}, flow #2)`);
    expect(found[1]).toContain("response.content");
    expect(found[1]).toContain(`flow #4`);
  });

  it("reports a body its Content-Encoding cannot decode", () => {
    const r = reflow(["check", join(fixtures, "..", "..", "shared", "testdata", "mitmproxy-tests", "flows", "corrupted_gzip_body.mitm"), "-q"]);
    expect(r.status).toBe(3);
    expect(r.stderr.toString()).toContain("response.content");
  });
});

describe("--strict", () => {
  it("lets nothing damaged through convert, where the lazy default does", () => {
    const lazy = reflow(["convert", bad, "-o", join(dir, "lazy.mitm"), "-q"]);
    expect(lazy.status, "the lazy default copies the flow as it is").toBe(0);
    const r = reflow(["convert", bad, "-o", join(dir, "strict.mitm"), "--strict", "-q"]);
    expect(r.status).toBe(3);
    expect(lines(r)).toHaveLength(2);
    expect(flowDicts(readFileSync(join(dir, "strict.mitm")))).toHaveLength(flowDicts(readFileSync(sample)).length - 2);
  });

  it("lets nothing damaged through run", () => {
    expect(reflow(["run", "-r", bad, "-w", join(dir, "lazy-run.mitm"), "-q"]).status).toBe(0);
    const r = reflow(["run", "-r", bad, "-w", join(dir, "strict-run.mitm"), "--strict", "-q"]);
    expect(r.status).toBe(3);
    expect(r.stderr.toString()).toContain("request.method");
    expect(flowDicts(readFileSync(join(dir, "strict-run.mitm")))).toHaveLength(flowDicts(readFileSync(sample)).length - 2);
  });
});
