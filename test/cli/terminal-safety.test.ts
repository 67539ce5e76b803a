/**
 * No byte from a file, a file's name, the command line or a script's data reaches a terminal
 * raw, whatever prints it: every text a command writes for a person (listings, reports,
 * errors, script errors and logs, Node's own reports of a script's failures, export
 * commands, a filter's reading) has its controls escaped. The flows hold ESC sequences (OSC
 * title, clear screen), a C1 CSI and a bidi override in every string field; the file's name
 * holds an OSC title too. (Live capture: test/capture/terminal-safety.test.ts.)
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, createWriteStream, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cliPath, reflow, testdata } from "../helpers.js";

/** What a hostile sender puts in every string it controls. */
const HOSTILE = "\x1b]0;pwned\x07\u009b2J\u202eRTL\x1b[2J";
/** A name for a flow file that sets the terminal's title when printed raw. */
const NAME = "cap\x1b]0;pwned\x07\u202e.mitm";

/** Anything that may not reach a terminal raw (newline and tab are layout). */
const RAW = /[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Where the first raw character of `text` is, for the assertion message; undefined when none. */
function rawIn(text: string): string | undefined {
  const m = RAW.exec(text);
  return m ? `U+${m[0].codePointAt(0)!.toString(16).padStart(4, "0")} at ${JSON.stringify(text.slice(Math.max(0, m.index - 30), m.index + 20))}` : undefined;
}

/** Keys whose values are structure, not data a sender chose (kept so that the file still reads). */
const STRUCTURE = new Set(["id", "type", "body_encoding", "content_encoding", "http_version", "scheme", "transport_protocol", "is_replay", "proxy_mode", "tls_version", "alpn", "cipher", "sockname", "peer", "address", "class", "op_code", "response_code", "url"]);

/** `value` with HOSTILE after every non-empty data string. */
function poisoned(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(poisoned);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, STRUCTURE.has(k) ? v : poisoned(v)]));
  return typeof value === "string" && value !== "" ? value + HOSTILE : value;
}

let dir: string;
let hostile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "reflow-terminal-cli-"));
  // HTTP, WebSocket, TCP, UDP and DNS flows, with every string a sender controls made hostile
  const jsonl = join(dir, "clean.jsonl");
  const made = reflow(["convert", join(testdata, "captures", "tflow-v21.mitm"), "-o", jsonl]);
  expect(made.status, made.stderr.toString()).toBe(0);
  const lines = readFileSync(jsonl, "utf8").trim().split("\n").map((l) => {
    const flow = poisoned(JSON.parse(l)) as { metadata: Record<string, unknown>; request?: Record<string, unknown>; dns_request?: { questions: { type: string }[] }; dns_response?: { answers: { type: string }[] } | null };
    const r = flow.request;
    if (r) r.url = `${String(r.scheme)}://${String(r.host)}:${String(r.port)}${String(r.path)}`;
    flow.metadata[`key${HOSTILE}`] = "value"; // a key, which diff names as a field
    for (const q of flow.dns_request?.questions ?? []) q.type = "A";
    for (const a of flow.dns_response?.answers ?? []) a.type = "TXT"; // an A record's data must stay an address
    return JSON.stringify(flow);
  });
  writeFileSync(join(dir, "hostile.jsonl"), `${lines.join("\n")}\n`);
  const converted = reflow(["convert", "hostile.jsonl", "-o", NAME], { cwd: dir });
  expect(converted.status, converted.stderr.toString()).toBe(0);
  hostile = join(dir, NAME);
  copyFileSync(join(dir, "clean.jsonl"), join(dir, "clean-copy.jsonl"));
  writeFileSync(join(dir, `damaged-${NAME}`), readFileSync(hostile).subarray(0, 3000));
  for (const [name, text] of Object.entries(SCRIPTS)) writeFileSync(join(dir, name), text);
});

const SCRIPTS: Record<string, string> = {
  "log-and-throw.ts": `export function request(ctx: any, flow: any): void {
  ctx.log(\`saw \${flow.request.url}\`, "info");
  throw new Error(\`bad \${flow.request.path}\`);
}\n`,
  "timer-throws.ts": `export function request(ctx: any, flow: any): void {
  const path = flow.request.path;
  setTimeout(() => { throw new Error(\`late \${path}\`); }, 0);
}\n`,
  "rejects.ts": `export function request(ctx: any, flow: any): void {
  void Promise.reject(new Error(\`rejected \${flow.request.path}\`));
}\n`,
  "warns.ts": `export function request(ctx: any, flow: any): void {
  process.emitWarning(\`warned \${flow.request.path}\`);
}\n`,
};

/** Runs reflow in the scratch folder; asserts nothing raw on stdout or stderr and the exit code; resolves with both texts. */
function safeRun(args: string[], status: number): string {
  const r = reflow(args, { cwd: dir });
  const out = r.stdout.toString();
  const err = r.stderr.toString();
  expect(r.status, `reflow ${JSON.stringify(args)}: ${err}`).toBe(status);
  expect(rawIn(out), `stdout of reflow ${JSON.stringify(args)}`).toBeUndefined();
  expect(rawIn(err), `stderr of reflow ${JSON.stringify(args)}`).toBeUndefined();
  return out + err;
}

describe("no byte from a flow file or a script reaches the terminal raw", () => {
  it("in show's listing at every --detail, and of a file found by a glob", () => {
    for (const detail of ["1", "2", "3", "4"]) expect(safeRun(["show", NAME, "--detail", detail], 0)).toContain("\\x1b]0;pwned\\x07");
    expect(safeRun(["show", "cap*.mitm"], 0)).toContain("\\u202eRTL");
  });

  it("in errors that quote a damaged file's name, and a missing one's", () => {
    expect(safeRun(["show", `damaged-${NAME}`], 3)).toContain("cap\\x1b]0;pwned\\x07\\u202e.mitm");
    safeRun(["check", `damaged-${NAME}`], 3);
    safeRun(["convert", `missing-${NAME}`, "-o", "x.mitm"], 2);
  });

  it("in diff's text report and its --stat", () => {
    const report = safeRun(["diff", "clean-copy.jsonl", NAME], 1);
    expect(report).toContain("\\x9b2J\\u202eRTL");
    expect(report, "the metadata key as a field").toContain('metadata["key\\u001b]0;pwned\\u0007\\x9b2J\\u202eRTL');
    expect(safeRun(["diff", "clean-copy.jsonl", NAME, "--stat"], 1)).toContain('metadata["key\\u001b]0;pwned');
  });

  it("in export's curl and httpie commands, piped as well", () => {
    for (const format of ["curl", "httpie"]) expect(safeRun(["export", NAME, "--format", format], 0)).toContain("\\x1b]0;pwned\\x07\\xc2\\x9b2J\\xe2\\x80\\xaeRTL");
  });

  it("in a script's log, its errors and their stacks", () => {
    const text = safeRun(["run", "-r", NAME, "-s", "log-and-throw.ts", "-w", "out.mitm", "-v"], 1);
    expect(text).toContain("Error: bad /path\\x1b]0;pwned\\x07\\x9b2J\\u202eRTL");
  });

  it("in what Node reports of a script: an exception thrown in a timer, a rejection left alone, a warning", () => {
    expect(safeRun(["run", "-r", NAME, "-s", "timer-throws.ts", "-w", "out.mitm"], 1)).toContain("Error: late /path\\x1b]0;pwned");
    expect(safeRun(["run", "-r", NAME, "-s", "rejects.ts", "-w", "out.mitm"], 1)).toContain("Error: rejected /path\\x1b]0;pwned");
    expect(safeRun(["run", "-r", NAME, "-s", "warns.ts", "-w", "out.mitm"], 0)).toContain("Warning: warned /path\\x1b]0;pwned");
  });

  it("in a filter's reading", () => {
    // a regex may not hold "[2J" unclosed: the OSC, the C1 CSI and the override alone
    expect(safeRun(["filter", "--explain", "~h \x1b]0;pwned\x07\u009b\u202eRTL"], 0)).toContain("header matches /\\x1b]0;pwned\\x07\\x9b\\u202eRTL");
  });

  it("in the usage errors that quote an argument (a glob may expand to any name)", () => {
    expect(safeRun(["show", NAME, `--detail${HOSTILE}`], 2)).toContain("--detail\\x1b]0;pwned");
    expect(safeRun([`show${HOSTILE}`], 2)).toContain("show\\x1b]0;pwned");
  });
});

/** Runs a command with its stderr on a pseudo-terminal and copies what the terminal gets to stdout. */
const ON_A_TERMINAL = `
import os, pty, subprocess, sys
master, slave = pty.openpty()
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
os.close(slave)
while True:
    try:
        data = os.read(master, 65536)
    except OSError:
        break
    if not data:
        break
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
sys.exit(child.wait())
`;

describe("no byte of a file's name reaches the terminal raw in the progress line", () => {
  it("while run reads a slow input on a terminal", async () => {
    // a named pipe, so that reading lasts past the second after which progress shows: no glob characters in the name
    const fifo = join(dir, "pipe\x1bc\x07\u202e.mitm");
    expect(spawnSync("mkfifo", [fifo]).status, "mkfifo").toBe(0);
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
    delete env.CI; // progress never shows in CI
    const child = spawn("/usr/bin/python3", ["-c", ON_A_TERMINAL, process.execPath, cliPath, "run", "-r", fifo, "-w", "out.mitm"], { cwd: dir, env });
    let terminal = "";
    const drawn = new Promise<void>((resolve) =>
      child.stdout.on("data", (d: Buffer) => {
        terminal += d.toString("utf8");
        if (terminal.includes(" flows")) resolve();
      }),
    );
    const ended = new Promise<number | null>((resolve) => child.once("close", resolve));
    const bytes = readFileSync(hostile);
    const input = createWriteStream(fifo);
    input.write(bytes.subarray(0, 2000));
    // the progress line is the readiness signal: the rest of the input goes once it is drawn
    await Promise.race([drawn, ended.then((code) => Promise.reject(new Error(`run ended (${code}) before drawing progress: ${terminal}`)))]);
    input.end(bytes.subarray(2000));
    expect(await ended, terminal).toBe(0);
    expect(terminal, "the progress line names the input").toContain("pipe\\x1bc\\x07\\u202e.mitm");
    // the line's own redraw (CR, erase line) is the only escape sequence allowed
    expect(rawIn(terminal.replace(/\r\x1b\[2K/g, "").replace(/\r\n/g, "\n")), "progress on the terminal").toBeUndefined();
  }, 30_000);
});
