import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { decode, spanAt, type TDict } from "../../src/format/tnetstring.js";
import { allMitmFiles, cliPath, flowDicts, manyBuffersCapture, projectRoot, reflow, stderrLine, testdata } from "../helpers.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "reflow-convert-"));
});


const versionOf = (file: string): unknown => flowDicts(readFileSync(file))[0]!.get("version");
const writable = allMitmFiles().filter((f) => [17, 18, 20, 21].includes(versionOf(f) as number));

describe("reflow convert", () => {
  it("covers the test files of every writable version", () => {
    expect(new Set(writable.map(versionOf))).toEqual(new Set([17, 18, 20, 21]));
  });

  for (const file of writable) {
    it(`writes ${file.split("testdata/")[1]} at its own version byte for byte`, () => {
      const out = join(dir, "same.mitm");
      const r = reflow(["convert", file, "-o", out, "-q"]);
      expect(r.status, r.stderr.toString()).toBe(0);
      expect(readFileSync(out).equals(readFileSync(file))).toBe(true);
    });
  }

  it("converts a file of many read buffers as the sum of its parts (read buffers are reused)", () => {
    const { file, real, big, copies } = manyBuffersCapture(dir);
    for (const version of ["17", "21"]) {
      const part = (input: string): Buffer => {
        const out = join(dir, `part-${version}.mitm`);
        expect(reflow(["convert", input, "-o", out, "-q", "--flow-version", version]).status).toBe(0);
        return readFileSync(out);
      };
      const [one, bigOut] = [part(real), part(big)];
      const out = join(dir, `many-${version}.mitm`);
      expect(reflow(["convert", file, "-o", out, "-q", "--flow-version", version]).status).toBe(0);
      const expected = Buffer.concat([...Array<Buffer>(copies).fill(one), bigOut, ...Array<Buffer>(copies).fill(one)]);
      expect(readFileSync(out).equals(expected), `v${version}`).toBe(true);
    }
  });

  it("reads stdin and writes stdout with -", () => {
    const input = readFileSync(join(testdata, "captures", "real-v17.mitm"));
    const r = reflow(["convert", "-", "-o", "-", "-q"], { input });
    expect(r.status).toBe(0);
    expect(r.stdout.equals(input)).toBe(true);
  });

  it("reads a named pipe once, as a shell's <(...) gives it", { timeout: 60_000 }, async () => {
    // The default output version used to be found by reading the input's first flow; from a
    // pipe those bytes were then gone, and the real read waited forever for a new writer.
    const input = join(testdata, "captures", "real-v17.mitm");
    const fifo = join(dir, "input.fifo");
    const out = join(dir, "from-fifo.mitm");
    execFileSync("mkfifo", [fifo]);
    spawn("sh", ["-c", 'cat "$1" > "$2"', "sh", input, fifo]);
    const child = spawn(process.execPath, [cliPath, "convert", fifo, "-o", out, "-q"]);
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    // a reader stuck waiting for a second writer is killed, so the test fails instead of hanging
    const hang = setTimeout(() => child.kill("SIGKILL"), 30_000);
    const status = await new Promise<number | null>((resolve) => child.once("close", resolve));
    clearTimeout(hang);
    const r = { status, stderr };
    expect(r.status, `convert from a FIFO (null: killed, stuck reading): ${r.stderr}`).toBe(0);
    expect(readFileSync(out).equals(readFileSync(input)), "the FIFO's flows, byte for byte").toBe(true);
  });

  it("concatenates several inputs and globs in order", () => {
    const a = join(testdata, "captures", "real-v17.mitm");
    const b = join(testdata, "captures", "real-v17-chunked.mitm");
    const out = join(dir, "both.mitm");
    const r = reflow(["convert", a, join(testdata, "captures", "real-v17-c*.mitm"), "-o", out, "-q"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(readFileSync(out).equals(Buffer.concat([readFileSync(a), readFileSync(b)]))).toBe(true);
  });

  it("rewrites a file in place safely", () => {
    const f = join(dir, "inplace.mitm");
    copyFileSync(join(testdata, "captures", "tflow-v21.mitm"), f);
    const r = reflow(["convert", f, "-o", f, "-q"]);
    expect(r.status).toBe(0);
    expect(readFileSync(f).equals(readFileSync(join(testdata, "captures", "tflow-v21.mitm")))).toBe(true);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("keeps every complete flow of a truncated input, names the damage and exits 3", () => {
    const whole = readFileSync(join(testdata, "captures", "real-v17.mitm"));
    const firstThree = flowDicts(whole).slice(0, 3);
    let cut = 0;
    for (let i = 0; i < 3; i++) cut = spanAt(whole, cut, whole.length).next;
    const broken = join(dir, "broken.mitm");
    writeFileSync(broken, whole.subarray(0, cut + 500));
    const out = join(dir, "salvaged.mitm");
    const r = reflow(["convert", broken, "-o", out, "-q"]);
    expect(r.status).toBe(3);
    const err = r.stderr.toString();
    expect(err).toContain(broken);
    expect(err).toContain(`byte offset ${cut}`);
    expect(err).toContain("flow #3");
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(readFileSync(out).equals(whole.subarray(0, cut))).toBe(true);
    expect(flowDicts(readFileSync(out)).map((f) => f.get("id"))).toEqual(firstThree.map((f) => f.get("id")));
  });

  it("refuses a version it cannot read, naming it (exit 3)", () => {
    const r = reflow(["convert", join(testdata, "mitmproxy-tests", "dumpfile-010.mitm"), "-o", join(dir, "x.mitm"), "-q"]);
    expect(r.status).toBe(3);
    expect(r.stderr.toString()).toMatch(/flow format version 0\.10/);
  });

  it("exits 2 with one line for a missing input, and writes nothing", () => {
    const out = join(dir, "never.mitm");
    const r = reflow(["convert", join(dir, "nope.mitm"), "-o", out]);
    expect(r.status).toBe(2);
    expect(r.stderr.toString().trim().split("\n")).toHaveLength(1);
    expect(r.stderr.toString()).toContain("no such file");
    expect(existsSync(out)).toBe(false);
  });

  it("exits 2 on usage errors", () => {
    expect(reflow(["convert", "x.mitm"]).status).toBe(2); // no -o
    const r = reflow(["convert", join(testdata, "captures", "real-v17.mitm"), "-o", "-", "--flow-version", "19"]);
    expect(r.status).toBe(2);
    expect(r.stderr.toString()).toContain("--flow-version must be one of 17, 18, 20, 21");
  });

  it("refuses a file that is not a flow file (exit 2)", () => {
    const py = join(dir, "script.py");
    writeFileSync(py, "import os\n");
    const r = reflow(["convert", py, "-o", "-"]);
    expect(r.status).toBe(2);
    expect(r.stderr.toString()).toContain("not a flow file");
  });

  it("has help with examples", () => {
    const r = reflow(["convert", "--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toContain("Examples:");
  });
});

describe("reflow convert under a signal", () => {
  it("stops on SIGINT mid-file, ended by the signal (a shell's 130), leaving neither output nor temp file", async () => {
    const out = join(dir, "interrupted.mitm");
    // From stdin, held open: the child is mid-input for as long as the test wants. Its UDP
    // flow has no version-17 form, so the warning about it (--skip-unwritable) says the output is open.
    const child = spawn(process.execPath, [cliPath, "convert", "-", "-o", out, "--flow-version", "17", "--skip-unwritable"], {
      stdio: ["pipe", "ignore", "pipe"],
    });
    child.stdin.write(readFileSync(join(testdata, "captures", "tflow-v21.mitm")));
    await stderrLine(child, /\(udp\) left out/);
    expect(readdirSync(dir).some((n) => n.startsWith(".interrupted.mitm.") && n.endsWith(".tmp")), "the temp file").toBe(true);
    child.kill("SIGINT");
    const ended = await new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
    child.stdin.destroy();
    // re-raised after the handler removed the temp file (a kill before it would leave the file)
    expect(ended).toEqual({ code: null, signal: "SIGINT" });
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});

describe("reflow convert to JSON Lines", () => {
  it("writes one JSON object per flow, the same as show --json, by --to or a .jsonl name", () => {
    const sample = join(projectRoot, "fixtures", "sample.mitm");
    const byName = join(dir, "sample.jsonl");
    const byOption = join(dir, "sample.out");
    expect(reflow(["convert", sample, "-o", byName, "-q"]).status).toBe(0);
    expect(reflow(["convert", sample, "-o", byOption, "--to", "jsonl", "-q"]).status).toBe(0);
    const lines = readFileSync(byName, "utf8").trim().split("\n");
    expect(lines).toHaveLength(7);
    expect(lines.map((l) => JSON.parse(l).id)).toEqual(flowDicts(readFileSync(sample)).map((d) => d.get("id")));
    expect(readFileSync(byOption).equals(readFileSync(byName))).toBe(true);
    expect(reflow(["show", sample, "--json"]).stdout.equals(readFileSync(byName))).toBe(true);
  });
});
