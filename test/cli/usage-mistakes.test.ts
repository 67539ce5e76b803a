/**
 * The mistakes a newcomer (a mitmproxy user) makes on the command line, each answered the
 * way README's "Exit codes and errors" promises: one line on stderr and the documented exit
 * code, never a stack and exit 70, and never a silent success.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliPath, fixtures, projectRoot, reflow } from "../helpers.js";

const sample = join(fixtures, "sample.mitm");
const scratch = (): string => mkdtempSync(join(tmpdir(), "reflow-usage-mistakes-"));
const lines = (r: { stderr: Buffer }): string[] => r.stderr.toString().trim().split("\n").filter(Boolean);

describe("an output folder that is a file", () => {
  it("run -w FILE/ is one line, exit 2, nothing written", () => {
    const d = scratch();
    writeFileSync(join(d, "taken"), "a file, not a folder\n");
    const r = reflow(["run", "-r", sample, "-w", "taken/"], { cwd: d });
    expect(r.status, r.stderr.toString()).toBe(2);
    expect(lines(r), r.stderr.toString()).toHaveLength(1);
    expect(readdirSync(d)).toEqual(["taken"]);
  });

  it("run -w FILE/SUB/ is one line, exit 2", () => {
    const d = scratch();
    writeFileSync(join(d, "taken"), "a file, not a folder\n");
    const r = reflow(["run", "-r", sample, "-w", "taken/sub/"], { cwd: d });
    expect(r.status, r.stderr.toString()).toBe(2);
    expect(lines(r), r.stderr.toString()).toHaveLength(1);
  });

  it("export --body-dir FILE is one line, exit 2", () => {
    const d = scratch();
    writeFileSync(join(d, "taken"), "a file, not a folder\n");
    // a binary request body is what export writes into --body-dir
    const flow = JSON.parse(reflow(["show", sample, "--json", "~m POST"]).stdout.toString().split("\n")[0]!);
    flow.request.body = Buffer.from([0, 1, 2, 255]).toString("base64");
    flow.request.body_encoding = "base64";
    writeFileSync(join(d, "binary.jsonl"), `${JSON.stringify(flow)}\n`);
    const r = reflow(["export", "binary.jsonl", "--body-dir", "taken"], { cwd: d });
    expect(r.status, r.stderr.toString()).toBe(2);
    expect(lines(r), r.stderr.toString()).toHaveLength(1);
    const ok = reflow(["export", "binary.jsonl", "--body-dir", "bodies"], { cwd: d });
    expect(ok.status, ok.stderr.toString()).toBe(0);
    expect(readdirSync(join(d, "bodies")), "the body file export's command reads").toEqual([`${flow.id}.body`]);
  });
});

describe("a script reflow cannot load", () => {
  it("a mitmproxy Python addon is one line naming the script, exit 2", () => {
    const r = reflow(["run", "-r", sample, "-s", "examples/add_header.py", "-w", "-"], { cwd: projectRoot });
    expect(r.status, r.stderr.toString()).toBe(2);
    expect(lines(r), r.stderr.toString()).toHaveLength(1);
    expect(lines(r)[0], "the line starts at the script, not inside Node").toMatch(/^error: examples\/add_header\.py: /);
  });
});

describe("replay --client with a server-only mode", () => {
  it("-m socks5 is a usage error (exit 2), not ignored", () => {
    const d = scratch();
    const r = reflow(["replay", "--client", sample, "-m", "socks5", "-w", "out.mitm"], { cwd: d });
    expect(r.status, r.stderr.toString()).toBe(2);
    expect(lines(r), r.stderr.toString()).toHaveLength(1);
    expect(readdirSync(d), "nothing sent, nothing written").toEqual([]);
  });
});

describe("mitmdump's -nr on run", () => {
  it("is reported as the unknown option it is (exit 2)", () => {
    const r = reflow(["run", "-nr", sample, "-w", "-"]);
    expect(r.status, r.stderr.toString()).toBe(2);
    expect(lines(r)[0], "names what was given, not a missing -r").toContain("'-nr'");
  });
});

describe("a share with no input file under -w DIR/", () => {
  it("still makes DIR, so that every share has its output", () => {
    const d = scratch();
    mkdirSync(join(d, "caps"));
    writeFileSync(join(d, "caps", "a.mitm"), "");
    // one file for three shares: two of them get none
    const empty = [1, 2, 3].filter((k) => {
      const r = reflow(["run", "-q", "-r", "caps/*.mitm", "--shard", `${k}/3`, "-w", `out${k}/`], { cwd: d });
      expect(r.status, r.stderr.toString()).toBe(0);
      expect(existsSync(join(d, `out${k}`)) && statSync(join(d, `out${k}`)).isDirectory(), `out${k}/ is a folder`).toBe(true);
      return readdirSync(join(d, `out${k}`)).length === 0;
    });
    expect(empty).toHaveLength(2);
  });
});

describe("commander's own errors", () => {
  const cases: [string, string[]][] = [
    ["a misspelt option", ["show", join(fixtures, "sample.mitm"), "--detial", "2"]],
    ["an unknown option", ["convert", join(fixtures, "sample.mitm"), "-o", "-", "--bogus"]],
    ["a missing argument", ["diff", join(fixtures, "sample.mitm")]],
    ["an option's missing value", ["run", "-r", join(fixtures, "sample.mitm"), "-s"]],
    ["a value not among the choices", ["export", join(fixtures, "sample.mitm"), "--format", "wget"]],
    ["an unknown command", ["shwo", join(fixtures, "sample.mitm")]],
  ];
  for (const [what, args] of cases) {
    it(`${what} is one line, exit 2`, () => {
      const r = reflow(args);
      expect(r.status, r.stderr.toString()).toBe(2);
      expect(lines(r), r.stderr.toString()).toHaveLength(1);
      expect(r.stdout.length, "nothing on stdout").toBe(0);
    });
  }
});

describe("an output path that cannot name a file", () => {
  it("convert -o NEW/ is one line, exit 2, and writes no file NEW", () => {
    const d = scratch();
    const r = reflow(["convert", sample, "-o", "new/"], { cwd: d });
    expect(r.status, r.stderr.toString()).toBe(2);
    expect(lines(r), r.stderr.toString()).toHaveLength(1);
    expect(readdirSync(d)).toEqual([]);
  });

  const underAFile: [string, string[]][] = [
    ["run -w", ["run", "-r", sample, "-w", "taken/out.mitm"]],
    ["run -a", ["run", "-r", sample, "-a", "taken/out.mitm"]],
    ["run --junit", ["run", "-r", sample, "-q", "--junit", "taken/report.xml"]],
    ["convert -o", ["convert", sample, "-o", "taken/out.mitm"]],
  ];
  for (const [what, args] of underAFile) {
    it(`${what} under a file is one line, exit 2`, () => {
      const d = scratch();
      writeFileSync(join(d, "taken"), "a file, not a folder\n");
      const r = reflow(args, { cwd: d });
      expect(r.status, r.stderr.toString()).toBe(2);
      expect(lines(r), r.stderr.toString()).toHaveLength(1);
      expect(readdirSync(d)).toEqual(["taken"]);
    });
  }
});

describe("init-script where no file can be written", () => {
  for (const [what, name] of [["in a missing folder", "missing/rewrite.ts"], ["below a file", "taken/rewrite.ts"]]) {
    it(`${what} is one line, exit 2`, () => {
      const d = scratch();
      writeFileSync(join(d, "taken"), "a file, not a folder\n");
      const r = reflow(["init-script", name!], { cwd: d });
      expect(r.status, r.stderr.toString()).toBe(2);
      expect(lines(r), r.stderr.toString()).toHaveLength(1);
      expect(readdirSync(d)).toEqual(["taken"]);
    });
  }
});

describe("replay options the chosen kind of replay would ignore", () => {
  const cases: [string, string[]][] = [
    ["a script with --client", ["--client", sample, "-s", "script.ts", "-w", "out.mitm"]],
    ["--strict with --client", ["--client", sample, "--strict", "-w", "out.mitm"]],
    ["--no-refresh with --client", ["--client", sample, "--no-refresh", "-w", "out.mitm"]],
    ["--concurrency without --client", [sample, "-p", "0", "--concurrency", "4"]],
  ];
  for (const [what, args] of cases) {
    it(`${what} is a usage error (exit 2) before anything is sent or listened on`, () => {
      const d = scratch();
      writeFileSync(join(d, "script.ts"), "export function request() {}\n");
      // bounded: a server replay that took the option would listen until stopped
      const r = spawnSync(process.execPath, [cliPath, "replay", ...args], { cwd: d, timeout: 20_000 });
      expect(r.status, r.stderr.toString()).toBe(2);
      expect(lines(r), r.stderr.toString()).toHaveLength(1);
      expect(readdirSync(d)).toEqual(["script.ts"]);
    });
  }
});
