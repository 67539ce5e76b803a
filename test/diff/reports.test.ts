/**
 * The CI reports: `diff --junit` and `run --junit` valid against the common JUnit schema
 * (xmllint), and `diff --html` rendered by a real headless Chromium with the changed JSON
 * field on the page.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { junitXml } from "../../src/format/junit-xml.js";
import { fixtures, projectRoot, reflow } from "../helpers.js";

const sample = join(fixtures, "sample.mitm");
const schema = join(projectRoot, "test", "diff", "junit.xsd");
let dir: string;
let changed: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "reflow-reports-"));
  changed = join(dir, "changed.mitm");
  // a changed JSON field, a changed header, and the error flow left out (removed)
  const r = reflow(["run", "-r", sample, "!~e", "--modify-body", '/~s/"alpha"/"ALPHA"', "--modify-headers", "/~s & ~u gzip/X-New/1", "-w", changed]);
  expect(r.status, r.stderr.toString()).toBe(0);
});

/** xmllint's verdict on `file` against the JUnit schema (in CI xmllint must be there: .ci/run installs it). */
function validate(file: string): { ok: boolean; why: string } {
  const r = spawnSync("xmllint", ["--noout", "--schema", schema, file], { encoding: "utf8" });
  if (r.error) throw new Error(`xmllint is needed (apt-get install libxml2-utils): ${r.error.message}`);
  return { ok: r.status === 0, why: r.stderr };
}

/** The <testcase> elements: name and the failure types inside. */
function cases(xml: string): { name: string; failures: string[] }[] {
  return [...xml.matchAll(/<testcase name="([^"]*)"[^>]*?(?:\/>|>([\s\S]*?)<\/testcase>)/g)].map((m) => ({
    name: m[1]!,
    failures: [...(m[2] ?? "").matchAll(/<failure [^>]*type="([^"]*)"/g)].map((f) => f[1]!),
  }));
}

describe("diff --junit", () => {
  it("is valid JUnit XML with a test case per flow pair and failures for changed and removed flows", () => {
    const file = join(dir, "diff.xml");
    const r = reflow(["diff", sample, changed, "--junit", file]);
    expect(r.status, "diff still exits 1 for differences").toBe(1);
    expect(r.stdout.toString(), "the text report still goes to stdout").toMatch(/changed/);
    const v = validate(file);
    expect(v.ok, v.why).toBe(true);
    const got = cases(readFileSync(file, "utf8"));
    expect(got).toHaveLength(7);
    const byName = (s: string) => got.filter((c) => c.name.includes(s));
    expect(byName("/api/items?page=2").flatMap((c) => c.failures)).toEqual(["changed"]);
    expect(byName("/gzip").flatMap((c) => c.failures)).toEqual(["changed"]);
    expect(byName("/refused").flatMap((c) => c.failures)).toEqual(["removed"]);
    expect(byName("/missing").flatMap((c) => c.failures), "an unchanged pair passes").toEqual([]);
  });

  it("stays valid with control characters and markup in flow text", () => {
    const file = join(dir, "odd.xml");
    writeFileSync(file, junitXml("odd \x01", [{ name: "<a & b>", cases: [{ name: 'GET "x"\x00\x1b[31m\ud800', classname: "c", failures: [{ type: "t", message: "\x07", text: "]]> <x/>" }] }] }]));
    const v = validate(file);
    expect(v.ok, v.why).toBe(true);
  });
});

describe("run --junit", () => {
  it("reports script errors per flow as failures, valid JUnit", () => {
    const script = join(dir, "throws.ts");
    writeFileSync(script, `export function response(ctx: any, flow: any) { if (flow.request.path === "/missing") throw new Error("boom"); }`);
    const file = join(dir, "run.xml");
    const r = reflow(["run", "-r", sample, "-s", script, "--junit", file]);
    expect(r.status).toBe(1);
    const v = validate(file);
    expect(v.ok, v.why).toBe(true);
    const got = cases(readFileSync(file, "utf8"));
    expect(got).toHaveLength(7);
    expect(got.filter((c) => c.failures.length).map((c) => c.name)).toEqual(["GET http://127.0.0.1:28601/missing"]);
    // with --jobs the workers' findings come back in input order: the same cases as one thread
    const one = join(dir, "one.xml");
    const two = join(dir, "two.xml");
    expect(reflow(["run", "-r", sample, sample, "-s", script, "--junit", one]).status).toBe(1);
    expect(reflow(["run", "-r", sample, sample, "-s", script, "-j", "2", "--junit", two]).status).toBe(1);
    expect(cases(readFileSync(two, "utf8"))).toEqual(cases(readFileSync(one, "utf8")));
    expect(cases(readFileSync(two, "utf8"))).toHaveLength(14);
  });
});

describe("diff --html", () => {
  it("shows a flow's markup, controls and bidi overrides as text, nothing hidden or reordered", () => {
    const evil = join(dir, "evil.mitm");
    const value = String.raw`<script>alert(1)<\/script>\x1b]0;t\x07\xe2\x80\xaeRTL`; // Python escapes: an OSC title, then U+202E in UTF-8
    const made = reflow(["run", "-r", sample, "--modify-headers", `/~s/X-Evil/${value}`, "-w", evil]);
    expect(made.status, made.stderr.toString()).toBe(0);
    const page = join(dir, "evil.html");
    expect(reflow(["diff", sample, evil, "--html", page]).status).toBe(1);
    const text = readFileSync(page, "utf8");
    expect(text, "no markup from the flow").not.toContain("<script");
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
    expect(text).toContain("&lt;script&gt;alert(1)&lt;\\/script&gt;\\x1b]0;t\\x07\\u202eRTL");
  });

  it("renders in headless Chromium, self-contained, with the changed JSON field on the page", () => {
    const page = join(dir, "diff.html");
    expect(reflow(["diff", sample, changed, "--html", page]).status).toBe(1);
    const text = readFileSync(page, "utf8");
    expect(text, "no external assets").not.toMatch(/\b(?:src|href)\s*=|@import|url\(/i);
    const profile = mkdtempSync(join(tmpdir(), "reflow-chromium-"));
    const shot = join(dir, "diff.png");
    const flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync", `--user-data-dir=${profile}`];
    try {
      const dom = spawnSync("/usr/bin/chromium", [...flags, "--dump-dom", `file://${page}`], { encoding: "utf8", timeout: 60_000 });
      expect(dom.status, dom.stderr).toBe(0);
      // the JSON change as a row: its path, A's value on the left, B's on the right
      expect(dom.stdout).toMatch(/<td class="field">response\.body \$\.items\[0\]\.name<\/td><td class="a">"alpha"<\/td><td class="b">"ALPHA"<\/td>/);
      expect(dom.stdout).toMatch(/id="summary"/);
      const png = spawnSync("/usr/bin/chromium", [...flags, `--screenshot=${shot}`, "--window-size=1200,900", `file://${page}`], { timeout: 60_000 });
      expect(png.status, png.stderr.toString()).toBe(0);
      expect(existsSync(shot) && readFileSync(shot).subarray(1, 4).toString(), "a PNG was rendered").toBe("PNG");
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
