/**
 * Nothing lost, nothing exposed on the way out: per-input outputs that never collide, modes
 * and symlinks kept on replace, a full disk as one line, no temp files left behind, a
 * closed pipe never reported as success, and no flow dropped for the version written.
 */
import { spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliPath, fixtures, flowDicts, projectRoot, reflow, testdata } from "../helpers.js";

const sample = join(fixtures, "sample.mitm");
const v17 = join(testdata, "captures", "tflow-v17.mitm");
const v21 = join(testdata, "captures", "tflow-v21.mitm"); // holds a UDP flow, which v17 cannot hold

const scratch = (): string => mkdtempSync(join(tmpdir(), "reflow-out-"));
const temps = (dir: string): string[] => readdirSync(dir).filter((n) => n.endsWith(".tmp"));
const stderrLines = (r: { stderr: Buffer }): string[] => r.stderr.toString().trim().split("\n").filter(Boolean);

/** Runs a shell line with the CLI as `$R`; returns reflow's own exit code (PIPESTATUS) and stderr. */
function shell(line: string, cwd = projectRoot): { status: string; stderr: string } {
  const r = spawnSync("bash", ["-c", `R() { node '${cliPath}' "$@"; }; ${line}; echo "\${PIPESTATUS[0]}"`], {
    cwd,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { status: r.stdout.trim().split("\n").pop()!, stderr: r.stderr };
}

describe("run -w DIR/ with inputs of one base name", () => {
  it("mirrors the inputs' paths below their common base, so none is lost", () => {
    const d = scratch();
    mkdirSync(join(d, "caps", "x"), { recursive: true });
    mkdirSync(join(d, "caps", "y"), { recursive: true });
    copyFileSync(sample, join(d, "caps", "x", "a.mitm"));
    copyFileSync(v17, join(d, "caps", "y", "a.mitm"));
    const r = reflow(["run", "-r", join(d, "caps", "**", "*.mitm"), "-w", join(d, "out") + "/"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(readFileSync(join(d, "out", "x", "a.mitm")).equals(readFileSync(sample)), "caps/x/a.mitm's output").toBe(true);
    expect(readFileSync(join(d, "out", "y", "a.mitm")).equals(readFileSync(v17)), "caps/y/a.mitm's output").toBe(true);
  });

  it("keeps one folder's inputs at the top of DIR, as before", () => {
    const d = scratch();
    copyFileSync(sample, join(d, "a.mitm"));
    copyFileSync(v17, join(d, "b.mitm"));
    const r = reflow(["run", "-r", join(d, "a.mitm"), join(d, "b.mitm"), "-w", join(d, "out") + "/"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(readdirSync(join(d, "out")).sort()).toEqual(["a.mitm", "b.mitm"]);
  });

  it("refuses an input named twice (exit 2) before writing anything", () => {
    const d = scratch();
    copyFileSync(sample, join(d, "a.mitm"));
    const r = reflow(["run", "-r", join(d, "a.mitm"), join(d, "a.mitm"), "-w", join(d, "out") + "/"]);
    expect(r.status).toBe(2);
    expect(stderrLines(r)).toHaveLength(1);
    expect(readdirSync(d)).toEqual(["a.mitm"]);
  });
});

describe("replacing an output", () => {
  it("keeps the mode of a private file rewritten in place", () => {
    const d = scratch();
    const f = join(d, "secret.mitm");
    copyFileSync(sample, f);
    chmodSync(f, 0o600);
    const r = reflow(["run", "-r", f, "-s", "examples/add-header.ts", "-w", f]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(statSync(f).mode & 0o777).toBe(0o600);
    expect(readFileSync(f).equals(readFileSync(sample)), "the file was rewritten").toBe(false);
  });

  it("creates a new output 0600 when its input is 0600", () => {
    const d = scratch();
    const f = join(d, "secret.mitm");
    copyFileSync(sample, f);
    chmodSync(f, 0o600);
    expect(reflow(["convert", f, "-o", join(d, "copy.mitm"), "-q"]).status).toBe(0);
    expect(statSync(join(d, "copy.mitm")).mode & 0o777).toBe(0o600);
    expect(reflow(["run", "-r", f, "-w", join(d, "run.mitm"), "-q"]).status).toBe(0);
    expect(statSync(join(d, "run.mitm")).mode & 0o777).toBe(0o600);
  });

  it("writes through a symlink to its target, the link kept", () => {
    const d = scratch();
    mkdirSync(join(d, "store"));
    const target = join(d, "store", "real.mitm");
    writeFileSync(target, "");
    chmodSync(target, 0o640);
    symlinkSync(join("store", "real.mitm"), join(d, "link.mitm"));
    const r = reflow(["convert", sample, "-o", join(d, "link.mitm"), "-q"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(lstatSync(join(d, "link.mitm")).isSymbolicLink(), "the link is still a link").toBe(true);
    expect(readlinkSync(join(d, "link.mitm"))).toBe(join("store", "real.mitm"));
    expect(readFileSync(target).equals(readFileSync(sample)), "the target holds the output").toBe(true);
    expect(statSync(target).mode & 0o777).toBe(0o640);
    expect(temps(d).concat(temps(join(d, "store")))).toEqual([]);
  });
});

describe("a full disk", () => {
  // A file-size limit makes writes fail with EFBIG, as a full disk fails them with ENOSPC.
  const limited = (line: string, cwd: string) => shell(`ulimit -f 8; ${line}`, cwd);

  it("is one line naming OUT, exit 2, and no temp file left", () => {
    const d = scratch();
    const big = Array.from({ length: 2 }, () => `'${v17}'`).join(" ");
    writeFileSync(join(d, "big.mitm"), Buffer.concat(Array.from({ length: 200 }, () => readFileSync(sample))));
    const r = limited(`R convert big.mitm ${big} -o out.mitm -q`, d);
    expect(r.status).toBe("2");
    expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
    expect(r.stderr).toContain("out.mitm");
    expect(readdirSync(d).sort()).toEqual(["big.mitm"]);
  });

  it("cuts a failed append back to its starting length: whole flows only", () => {
    const d = scratch();
    copyFileSync(sample, join(d, "log.mitm"));
    writeFileSync(join(d, "big.mitm"), Buffer.concat(Array.from({ length: 200 }, () => readFileSync(sample))));
    const r = limited(`R run -r big.mitm -a log.mitm -q`, d);
    expect(r.status).toBe("2");
    expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
    expect(readFileSync(join(d, "log.mitm")).equals(readFileSync(sample)), "log.mitm as it was").toBe(true);
  });

  it("behind stdout (/dev/full) is one line, exit 2", () => {
    const r = shell(`R convert '${sample}' -o - -q > /dev/full`);
    expect(r.status).toBe("2");
    expect(r.stderr.trim().split("\n"), r.stderr).toHaveLength(1);
    expect(r.stderr).toContain("stdout");
  });
});

/** Starts `reflow ARGS` with a stdin pipe it waits on; resolves once it has made its temp file. */
function startWaitingOnStdin(args: string[], dir: string): Promise<import("node:child_process").ChildProcess> {
  const child = spawn(process.execPath, [cliPath, ...args], { cwd: dir, stdio: ["pipe", "ignore", "pipe"] });
  // half a flow: the reader waits for the rest, the output already open
  child.stdin!.write(readFileSync(sample).subarray(0, 100));
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (temps(dir).length) {
        clearInterval(poll);
        resolve(child);
      }
    }, 20);
    child.once("exit", () => {
      clearInterval(poll);
      reject(new Error("reflow ended before making its temp file"));
    });
  });
}

describe("temp files", () => {
  for (const sig of ["SIGHUP", "SIGTERM", "SIGINT"] as const) {
    it(`are removed when ${sig} ends a convert`, async () => {
      const d = scratch();
      const child = await startWaitingOnStdin(["convert", "-", "-o", "out.mitm", "--flow-version", "21", "-q"], d);
      const exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
      child.kill(sig);
      expect(await exited, "ended by the signal, re-raised once the temp file was removed").toEqual({ code: null, signal: sig });
      expect(readdirSync(d)).toEqual([]);
    });
  }

  it("are removed when a script calls process.exit()", () => {
    const d = scratch();
    writeFileSync(join(d, "exit.mjs"), "export function request() { process.exit(0); }\n");
    const r = reflow(["run", "-r", sample, "-s", join(d, "exit.mjs"), "-w", join(d, "out.mitm")]);
    expect(r.status, "an unfinished run never exits 0").not.toBe(0);
    expect(readdirSync(d)).toEqual(["exit.mjs"]);
    const jobs = reflow(["run", "-r", sample, v17, "-s", join(d, "exit.mjs"), "-w", join(d, "out.mitm"), "-j", "2"]);
    expect(jobs.status, "nor does one whose worker a script ended").not.toBe(0);
    expect(readdirSync(d)).toEqual(["exit.mjs"]);
  });

  it("are removed when stderr is closed (2>&1 | head)", () => {
    const d = scratch();
    writeFileSync(join(d, "noisy.mjs"), 'export function request(ctx) { ctx.log("x".repeat(2000), "error"); }\n');
    const many = Array.from({ length: 40 }, () => `'${sample}'`).join(" ");
    shell(`R run -r ${many} -s noisy.mjs -w out.mitm 2>&1 | head -c 1 > /dev/null`, d);
    expect(temps(d)).toEqual([]);
  });

  it("of dead reflow processes beside OUT are removed on start; a live one's stay", () => {
    const d = scratch();
    const dead = spawnSync("true").pid!; // a process id that has ended
    writeFileSync(join(d, `.out.mitm.reflow-${dead}-0123abcd.tmp`), "debris");
    writeFileSync(join(d, `.out.mitm.reflow-${process.pid}-0123abcd.tmp`), "a live writer's");
    writeFileSync(join(d, `.other.mitm.reflow-${dead}-0123abcd.tmp`), "another output's");
    expect(reflow(["convert", sample, "-o", join(d, "out.mitm"), "-q"]).status).toBe(0);
    expect(temps(d).sort()).toEqual([`.other.mitm.reflow-${dead}-0123abcd.tmp`, `.out.mitm.reflow-${process.pid}-0123abcd.tmp`].sort());
  });
});

describe("a script hook stuck in a loop", () => {
  for (const sig of ["TERM", "INT"]) {
    it(`does not make run ignore SIG${sig}`, () => {
      const d = scratch();
      writeFileSync(join(d, "loop.mjs"), "export function request() { for (;;) {} }\n");
      // timeout sends the signal after 2 s and, if reflow is still there 20 s later, SIGKILL (137)
      const r = shell(`timeout -s ${sig} -k 20 2 node '${cliPath}' run -r '${sample}' -s loop.mjs -w out.mitm`, d);
      expect(r.status, "ended by the signal itself, not by the SIGKILL after it").toBe("124");
      expect(readdirSync(d).filter((n) => n === "out.mitm")).toEqual([]);
      // its temp file is removed by the next run that writes out.mitm
      expect(reflow(["convert", sample, "-o", join(d, "out.mitm"), "-q"], { cwd: d }).status).toBe(0);
      expect(temps(d)).toEqual([]);
    });
  }
});

describe("a closed stdout", () => {
  it("keeps diff's 1 once it found a difference", () => {
    const d = scratch();
    writeFileSync(join(d, "a.mitm"), Buffer.concat(Array.from({ length: 100 }, () => readFileSync(sample))));
    expect(reflow(["run", "-r", join(d, "a.mitm"), "-s", "examples/add-header.ts", "-w", join(d, "b.mitm"), "-q"]).status).toBe(0);
    const r = shell(`R diff a.mitm b.mitm --by order | head -c 1 > /dev/null`, d);
    expect(r.stderr).toBe("");
    expect(r.status).toBe("1");
  });

  it("ends a command whose output was cut off with 141, quietly", () => {
    const big = Array.from({ length: 40 }, () => `'${sample}'`).join(" ");
    const r = shell(`R convert ${big} -o - -q | head -c 1 > /dev/null`);
    expect(r.stderr).toBe("");
    expect(r.status).toBe("141");
  });
});

describe("the default version and flows it cannot hold", () => {
  it("counts stdin among the inputs", () => {
    const d = scratch();
    const r = reflow(["convert", v17, "-", "-o", join(d, "out.mitm"), "-q"], { input: readFileSync(v21) });
    expect(r.status, r.stderr.toString()).toBe(0);
    const versions = flowDicts(readFileSync(join(d, "out.mitm"))).map((f) => f.get("version"));
    expect(new Set(versions)).toEqual(new Set([21]));
    expect(versions).toHaveLength(flowDicts(readFileSync(v17)).length + flowDicts(readFileSync(v21)).length);
  });

  for (const cmd of ["convert", "run"] as const) {
    it(`${cmd}: refuses a flow the chosen version cannot hold (exit 2, naming it) before writing`, () => {
      const d = scratch();
      const out = join(d, "out.mitm");
      const args =
        cmd === "convert" ? ["convert", v21, "-o", out, "--flow-version", "17", "-q"] : ["run", "-r", v21, "-w", out, "--flow-version", "17", "-q"];
      const r = reflow(args);
      expect(r.status).toBe(2);
      expect(stderrLines(r)).toHaveLength(1);
      expect(r.stderr.toString()).toContain("tflow-v21.mitm");
      expect(readdirSync(d)).toEqual([]);
      const skip = reflow([...args, "--skip-unwritable"]);
      expect(skip.status, skip.stderr.toString()).toBe(0);
      expect(flowDicts(readFileSync(out)).length).toBe(flowDicts(readFileSync(v21)).length - 1);
    });
  }
});
