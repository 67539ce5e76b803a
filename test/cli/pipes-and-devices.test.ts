/**
 * Inputs and outputs that are not regular files: named pipes, /dev/stdout and a terminal. A
 * pipe or device is written where it is (renaming a temp file over it would replace it);
 * binary flow bytes are never sent to a terminal; a signal ends a command whose named-pipe
 * input still waits for its writer.
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, createReadStream, lstatSync, mkdtempSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliPath, fixtures, reflow } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "reflow-devices-"));
const sample = join(fixtures, "sample.mitm");

/** Runs reflow with `args` while reading the named pipe `fifo` to its end. */
async function throughPipe(fifo: string, args: string[]): Promise<{ status: number | null; stderr: string; read: Buffer }> {
  const child = spawn(process.execPath, [cliPath, ...args], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const status = new Promise<number | null>((resolve) =>
    child.on("close", (code) => {
      // a child that ended before it opened the pipe leaves our reader waiting for a writer:
      // open and close it once (O_RDWR never waits) so the reader sees the end
      closeSync(openSync(fifo, "r+"));
      resolve(code);
    }),
  );
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(fifo)) chunks.push(chunk as Buffer);
  return { status: await status, stderr, read: Buffer.concat(chunks) };
}

// a pseudo-terminal as stdin, stdout and stderr, from Python's pty module
function inTerminal(args: string[]): { code: number; seen: string } {
  const py = [
    "import os, pty, sys",
    "pid, fd = pty.fork()",
    "if pid == 0: os.execv(sys.argv[1], sys.argv[1:])",
    "seen = b''",
    "while True:",
    "    try: d = os.read(fd, 65536)",
    "    except OSError: break",
    "    if not d: break",
    "    seen += d",
    "_, status = os.waitpid(pid, 0)",
    "sys.stdout.write(str(os.waitstatus_to_exitcode(status)) + '\\n' + seen.decode('latin1'))",
  ].join("\n");
  const r = spawnSync("/usr/bin/python3", ["-c", py, process.execPath, cliPath, ...args], { encoding: "latin1" });
  const [code, ...rest] = r.stdout.split("\n");
  return { code: Number(code), seen: rest.join("\n") };
}

describe("pipes, devices and terminals", () => {
  it("writes into a named pipe and leaves it a pipe", async () => {
    const fifo = join(dir, "flows.pipe");
    expect(spawnSync("mkfifo", [fifo]).status, "mkfifo").toBe(0);
    const expected = reflow(["convert", sample, "-o", "-"]).stdout;
    const { status, stderr, read } = await throughPipe(fifo, ["convert", sample, "-o", fifo]);
    expect(status, stderr).toBe(0);
    expect(read.equals(expected), "the pipe's reader got the flows").toBe(true);
    expect(lstatSync(fifo).isFIFO(), "still a named pipe, not a file renamed over it").toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes(".tmp")), "no temp file beside it").toEqual([]);
  });

  it("writes msgpack into a named pipe with -a, not peeking at the pipe for a header", async () => {
    const fifo = join(dir, "append.pipe");
    expect(spawnSync("mkfifo", [fifo]).status, "mkfifo").toBe(0);
    const { status, stderr, read } = await throughPipe(fifo, ["run", "-r", sample, "-a", fifo, "--format", "msgpack", "-q"]);
    expect(status, stderr).toBe(0);
    expect(read.subarray(0, 14).toString("latin1"), "the stream starts with the msgpack header").toBe("REFLOW-MSGPACK");
  });

  it("writes to /dev/stdout (a link to the process's stdout pipe)", () => {
    // through a shell pipe: Node gives a child sockets, which /dev/stdout cannot open
    const script = '"$0" "$1" convert "$2" -o /dev/stdout -q | cat';
    const r = spawnSync("sh", ["-c", script, process.execPath, cliPath, sample]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(r.stdout.equals(readFileSync(sample)), "the sample's flows, unchanged").toBe(true);
  });

  it("refuses to send binary flows to a terminal (E_OUTPUT, exit 2), but not JSON Lines", () => {
    const mitm = inTerminal(["convert", sample, "-o", "-"]);
    expect(mitm.code, mitm.seen).toBe(2);
    expect(mitm.seen, "the error names the terminal").toMatch(/<stdout>: is a terminal/);
    expect(mitm.seen, "no flow bytes reached the terminal").not.toMatch(/client_conn/);
    // the terminal by a path (its /dev/pts entry), not /dev/tty: were this broken, nothing could be renamed over it
    const tty = inTerminal(["convert", sample, "-o", "/proc/self/fd/1", "--format", "msgpack"]);
    expect(tty.code, tty.seen).toBe(2);
    expect(tty.seen, "the error names the terminal").toMatch(/is a terminal/);
    expect(tty.seen, "no msgpack bytes reached the terminal").not.toMatch(/REFLOW-MSGPACK/);
    const jsonl = inTerminal(["convert", sample, "-o", "-", "--format", "jsonl", "-q"]);
    expect(jsonl.code, jsonl.seen).toBe(0);
    expect(jsonl.seen, "JSON Lines is text: it is shown").toMatch(/"client_conn"/);
  });

  it("ends on SIGTERM while a named-pipe input waits for a writer that never comes, its temp file removed", async () => {
    const sub = mkdtempSync(join(dir, "waiting-"));
    const fifo = join(sub, "never.pipe");
    expect(spawnSync("mkfifo", [fifo]).status, "mkfifo").toBe(0);
    const out = join(sub, "out.mitm");
    const child = spawn(process.execPath, [cliPath, "convert", fifo, "-o", out, "--flow-version", "21"], { stdio: "ignore" });
    const ended = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    // ready once the output's temp file exists: the input's open is then under way or next
    while (!readdirSync(sub).some((n) => n.endsWith(".tmp"))) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGTERM");
    const timeout = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const result = await ended;
    clearTimeout(timeout);
    expect(result, "ended by SIGTERM itself, not left waiting (SIGKILL after 10 s)").toEqual({ code: null, signal: "SIGTERM" });
    expect(readdirSync(sub).sort(), "no output, no temp file").toEqual(["never.pipe"]);
  });

  it("writes JSON to a terminal with C1 and bidi controls escaped, the same JSON", () => {
    const sub = mkdtempSync(join(dir, "hostile-"));
    const script = join(sub, "hostile.mjs");
    // an 8-bit CSI that clears the screen, then a right-to-left override
    writeFileSync(script, 'export function request(ctx, flow) { flow.request.headers.set("x-hostile", "\\u009b2J\\u202etxt.exe"); }\n');
    const hostile = join(sub, "hostile.mitm");
    const made = reflow(["run", "-r", sample, "-s", script, "-w", hostile, "-q"]);
    expect(made.status, made.stderr.toString()).toBe(0);
    const raw = (s: string): boolean => {
      const b = Buffer.from(s, "latin1");
      return b.includes(Buffer.from("\u009b", "utf8")) || b.includes(Buffer.from("\u202e", "utf8"));
    };
    const piped = reflow(["show", hostile, "--json"]).stdout.toString("latin1");
    expect(raw(piped), "piped JSON keeps the characters (jq reads the same value)").toBe(true);
    for (const args of [
      ["show", hostile, "--json"],
      ["convert", hostile, "-o", "-", "--format", "jsonl", "-q"],
      ["export", hostile, "--format", "har-entry"],
      ["diff", sample, hostile, "--json"],
    ]) {
      const shown = inTerminal(args);
      expect(shown.code, `${args.join(" ")}: ${shown.seen}`).toBeLessThan(2);
      expect(raw(shown.seen), `${args.join(" ")} sent a raw control to the terminal`).toBe(false);
      expect(shown.seen, `${args.join(" ")} shows the escapes`).toContain("\\u009b2J\\u202etxt.exe");
    }
  });
});
