/**
 * Script failures told the way a script's author needs them: a load failure as one line at
 * the script's own file and line, a failing `start()` before anything is written, a hook that
 * fails on every flow shown ten times and then counted, and input damage a script happens to
 * read reported as input damage (exit 3), never as a script error.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encode, type TDict } from "../../src/format/tnetstring.js";
import { fixtures, flowDicts, reflow, testdata } from "../helpers.js";

const sample = join(fixtures, "sample.mitm");
const scratch = (): string => mkdtempSync(join(tmpdir(), "reflow-script-errors-"));
const lines = (r: { stderr: Buffer }): string[] => r.stderr.toString().trim().split("\n").filter(Boolean);

describe("a script that fails to load", () => {
  const cases: [string, string, string][] = [
    ["a syntax error", "syntax.ts", "export function request(ctx: unknown) {\n  const x = ;\n}\n"],
    ["a throw while loading", "throws.ts", 'const a = 1;\nthrow new Error("boom");\nexport function request() {}\n'],
  ];
  for (const [what, name, text] of cases) {
    it(`is one line at the script's own file and line: ${what}`, () => {
      const d = scratch();
      writeFileSync(join(d, name), text);
      const r = reflow(["run", "-r", sample, "-s", name, "-w", "out.mitm"], { cwd: d });
      expect(r.status).toBe(2);
      expect(lines(r), r.stderr.toString()).toHaveLength(1);
      expect(r.stderr.toString()).toContain(`${name}:2:`);
      expect(readdirSync(d)).toEqual([name]);
    });
  }

  it("says a directory is a directory", () => {
    const d = scratch();
    mkdirSync(join(d, "scripts"));
    const r = reflow(["run", "-r", sample, "-s", "scripts", "-w", "out.mitm"], { cwd: d });
    expect(r.status).toBe(2);
    expect(lines(r)).toHaveLength(1);
    expect(r.stderr.toString()).toContain("is a directory");
  });
});

describe("an exception nothing caught (a script's timer that throws)", () => {
  it("ends the run with its stack and exit 1, nothing written, with --jobs as without", () => {
    const d = scratch();
    writeFileSync(join(d, "later.ts"), 'export function request(): void {\n  setTimeout(() => {\n    throw new Error("late boom");\n  }, 0);\n}\n');
    const one = reflow(["run", "-r", sample, "-s", "later.ts", "-w", "out.mitm"], { cwd: d });
    const jobs = reflow(["run", "-r", sample, sample, "-j", "2", "-s", "later.ts", "-w", "out.mitm"], { cwd: d });
    for (const [how, r] of [["one thread", one], ["two workers", jobs]] as const) {
      expect(r.status, `${how}: ${r.stderr.toString()}`).toBe(1);
      expect(r.stderr.toString(), how).toContain("late boom");
      expect(r.stderr.toString(), how).toContain("later.ts:3:");
    }
    expect(readdirSync(d)).toEqual(["later.ts"]);
  });
});

describe("a start() that throws", () => {
  it("stops the run before anything is written (exit 2)", () => {
    const d = scratch();
    writeFileSync(join(d, "start.ts"), 'export function start() {\n  throw new Error("no config");\n}\nexport function request() {}\n');
    const r = reflow(["run", "-r", sample, "-s", "start.ts", "-w", "out.mitm"], { cwd: d });
    expect(r.status).toBe(2);
    expect(lines(r), r.stderr.toString()).toHaveLength(1);
    expect(r.stderr.toString()).toContain("start.ts:2:");
    expect(readdirSync(d)).toEqual(["start.ts"]);
    const jobs = reflow(["run", "-r", sample, sample, "-j", "2", "-s", "start.ts", "-w", "out.mitm"], { cwd: d });
    expect(jobs.status).toBe(2);
    expect(lines(jobs), "the same one line from a worker").toEqual(lines(r));
    expect(readdirSync(d)).toEqual(["start.ts"]);
  });
});

describe("the same hook failing on every flow", () => {
  it("shows its first 10 errors in full, then a count", () => {
    const d = scratch();
    writeFileSync(join(d, "fails.ts"), 'export function request() {\n  throw new Error("every time");\n}\n');
    writeFileSync(join(d, "many.mitm"), Buffer.concat(Array.from({ length: 5 }, () => readFileSync(sample)))); // 35 flows
    const r = reflow(["run", "-r", "many.mitm", "-s", "fails.ts", "-w", "out.mitm"], { cwd: d });
    expect(r.status).toBe(1);
    const err = r.stderr.toString();
    expect(err.match(/every time/g)).toHaveLength(10);
    expect(err).toMatch(/25 more errors/);
    expect(err).toContain("35 script errors");
  });
});

describe("damage a script happens to read", () => {
  it("is input damage (exit 3, file, offset, flow), not a script error", () => {
    const d = scratch();
    const dicts = flowDicts(readFileSync(sample));
    (dicts[2]!.get("request") as TDict).set("method", 5); // an int where bytes belong
    const parts = dicts.map((f) => encode(f));
    writeFileSync(join(d, "bad.mitm"), Buffer.concat(parts));
    writeFileSync(join(d, "reads.ts"), "export function request(ctx: unknown, flow: any) { ctx; flow.request.method; }\n");
    const r = reflow(["run", "-r", "bad.mitm", "-s", "reads.ts", "-w", "out.mitm"], { cwd: d });
    expect(r.status, r.stderr.toString()).toBe(3);
    const err = r.stderr.toString();
    expect(err).not.toContain("script error in");
    expect(err).toContain("bad.mitm");
    expect(err).toContain(`byte offset ${parts[0]!.length + parts[1]!.length}`);
    expect(err).toContain("flow #2");
    expect(flowDicts(readFileSync(join(d, "out.mitm")))).toHaveLength(2); // the flows before it
  });

  it("in a reflow msgpack record is input damage too, named with its file, offset and flow", () => {
    const d = scratch();
    const converted = reflow(["convert", join(testdata, "captures", "real-v17.mitm"), "-o", "good.msgpack"], { cwd: d });
    expect(converted.status, converted.stderr.toString()).toBe(0);
    const b = readFileSync(join(d, "good.msgpack"));
    // record #2 starts after the magic line and two length-prefixed records
    let at = b.indexOf(0x0a) + 1;
    for (let i = 0; i < 2; i++) at += 4 + b.readUInt32BE(at);
    const record2 = at;
    // its request's method (a bin 8 after the key "method") now claims 255 bytes: the request
    // dict no longer frames, which shows only when something reads the request
    const key = Buffer.from([0xa6, ...Buffer.from("method")]);
    const method = b.indexOf(key, record2) + key.length;
    expect(b[method], "the method is a bin 8").toBe(0xc4);
    b[method + 1] = 0xff;
    writeFileSync(join(d, "bad.msgpack"), b);
    writeFileSync(join(d, "reads.ts"), "export function request(ctx: unknown, flow: any) { ctx; flow.request.method; }\n");
    const r = reflow(["run", "-r", "bad.msgpack", "-s", "reads.ts", "-w", "out.mitm"], { cwd: d });
    const err = r.stderr.toString();
    expect(r.status, err).toBe(3);
    expect(err).not.toContain("script error in");
    expect(lines(r).filter((l) => l.startsWith("error:")), err).toHaveLength(1);
    expect(err).toContain("bad.msgpack");
    expect(err).toContain(`byte offset ${record2}`);
    expect(err).toContain("flow #2");
    expect(flowDicts(readFileSync(join(d, "out.mitm"))), "the flows before the damage").toHaveLength(2);
  });
});
