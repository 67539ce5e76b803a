/**
 * One list of error codes (src/errors.ts ERROR_CODES): no code is used in src/ that is not
 * in it, and each is documented where its users look.
 */
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, FlowReadError } from "../src/errors.js";
import { projectRoot, reflow, testdata } from "./helpers.js";

const CODE = /\bE_[A-Z][A-Z0-9_]*\b/g;
const listed = new Set(Object.keys(ERROR_CODES));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f));
}

/** The codes `source` uses that are not listed; a prefix of listed codes may stand in a startsWith test. */
function unknownCodes(name: string, source: string): string[] {
  const unknown: string[] = [];
  for (const m of source.matchAll(CODE)) {
    if (listed.has(m[0])) continue;
    const family =
      source.slice(m.index - 12, m.index) === 'startsWith("' && [...listed].some((c) => c.startsWith(`${m[0]}_`));
    if (!family) unknown.push(`${name}: ${m[0]}`);
  }
  return unknown;
}

/** The text of a markdown section, from its heading to the next heading of the same level or higher. */
function section(file: string, heading: string): string {
  const text = readFileSync(join(projectRoot, file), "utf8");
  const start = text.indexOf(`\n${heading}\n`);
  expect(start, `${file} has no "${heading}"`).toBeGreaterThanOrEqual(0);
  const level = heading.indexOf(" ");
  const next = text.slice(start + heading.length + 2).search(new RegExp(`\\n#{1,${level}} `));
  return next < 0 ? text.slice(start) : text.slice(start, start + heading.length + 2 + next);
}

describe("the one list of error codes", () => {
  it("holds every code src/ uses (a family prefix only as a startsWith test)", () => {
    const files = sourceFiles(join(projectRoot, "src"));
    const unknown = files.flatMap((f) => unknownCodes(relative(projectRoot, f), readFileSync(f, "utf8")));
    expect(unknown, "codes missing from ERROR_CODES in src/errors.ts").toEqual([]);
  });

  it("catches a code that is not in it, and a family prefix used as a code", () => {
    const source =
      'throw new X("E_FLOW_CORRUPT"); fail("E_NOT_LISTED"); code.startsWith("E_UPSTREAM"); f("E_UPSTREAM");';
    expect(unknownCodes("x.ts", source)).toEqual(["x.ts: E_NOT_LISTED", "x.ts: E_UPSTREAM"]);
  });

  it("is documented: library and body codes in the README, capture failures in docs/capture.md", () => {
    const documented =
      section("README.md", "## Exit codes and errors") + section("docs/capture.md", "## Failures are flows");
    const missing = [...listed].filter((code) => !new RegExp(`\\b${code}\\b`).test(documented));
    expect(missing, "codes not documented").toEqual([]);
  });

  it("has a meaning for each code", () => {
    for (const [code, meaning] of Object.entries(ERROR_CODES)) expect(meaning.length, code).toBeGreaterThan(5);
  });
});

describe("a damage message quoting the input", () => {
  it("stays one short line: a 1 MB field is quoted in part, file, offset and flow kept", () => {
    const dir = mkdtempSync(join(tmpdir(), "reflow-errors-"));
    const good = join(dir, "good.jsonl");
    expect(reflow(["convert", join(testdata, "captures", "real-v17.mitm"), "-o", good]).status).toBe(0);
    const lines = readFileSync(good, "utf8").split("\n");
    const line = JSON.parse(lines[1]!);
    line.client_conn.address = "A".repeat(1 << 20); // not host:port: the reader quotes it
    lines[1] = JSON.stringify(line);
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, lines.join("\n"));
    const r = reflow(["show", bad]);
    const err = r.stderr.toString();
    expect(r.status, err.slice(0, 300)).toBe(3);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(err.length, "the line's length").toBeLessThan(1000);
    expect(err).toContain(`${bad}: `);
    expect(err).toMatch(/\(byte offset \d+, flow #1\)\n$/);
  });

  it("keeps the whole detail for library users", () => {
    const detail = `address "${"A".repeat(5000)}" is not host:port`;
    const e = new FlowReadError("E_FLOW_SCHEMA", "a.jsonl", 10, 1, detail);
    expect(e.detail).toBe(detail);
    expect(e.message.length).toBeLessThan(1000);
    expect(e.message.endsWith("(byte offset 10, flow #1)")).toBe(true);
  });
});
