/** Shared test helpers: where the reference data lives, and running the built CLI. */
import { type ChildProcess, spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { decode, encode, spanAt, type TDict } from "../src/format/tnetstring.js";

export const projectRoot = fileURLToPath(new URL("..", import.meta.url));
/** `../shared/testdata` beside the project (read-only reference data). */
export const testdata = join(projectRoot, "..", "shared", "testdata");
export const fixtures = join(projectRoot, "fixtures");
export const cliPath = join(projectRoot, "dist", "cli", "main.js");

/** Every `.mitm` file under ../shared/testdata, sorted. */
export function allMitmFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith(".mitm")) out.push(p);
    }
  };
  walk(testdata);
  return out.sort();
}

/** Runs `reflow ARGS` from the built dist/ and returns its result. */
export function reflow(args: string[], opts: { input?: Buffer | string; cwd?: string } = {}): SpawnSyncReturns<Buffer> {
  return spawnSync(process.execPath, [cliPath, ...args], {
    input: opts.input,
    cwd: opts.cwd ?? projectRoot,
    env: { ...process.env, NO_COLOR: "1" },
    maxBuffer: 1 << 30,
  });
}

/** True when Debian's mitmdump is on this machine. In CI it must be (CI installs it). */
export function hasMitmdump(): boolean {
  const r = spawnSync("mitmdump", ["--version"], { encoding: "utf8" });
  const found = r.status === 0;
  if (!found && process.env.CI) throw new Error("mitmdump is required in CI (.ci/run installs it)");
  return found;
}

/**
 * Runs `reflow ARGS` without blocking this process: needed when the test itself serves
 * traffic to it (spawnSync would freeze the test's own servers).
 */
export function reflowAsync(args: string[]): Promise<{ status: number | null; stdout: Buffer; stderr: Buffer }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: projectRoot, env: { ...process.env, NO_COLOR: "1" } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (c: Buffer) => out.push(c));
    child.stderr.on("data", (c: Buffer) => err.push(c));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, stdout: Buffer.concat(out), stderr: Buffer.concat(err) }));
  });
}

/**
 * Resolves once the child's stderr has a line matching `ready` (what a test waits for before
 * signalling it, never a sleep); rejects, with what it printed, if it exits first.
 */
export function stderrLine(child: ChildProcess, ready: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let err = "";
    const onData = (d: Buffer): void => {
      err += d.toString();
      const line = err.split("\n").find((l) => ready.test(l));
      if (line === undefined) return;
      child.stderr!.off("data", onData);
      child.off("exit", onExit);
      resolve(line);
    };
    const onExit = (code: number | null): void => reject(new Error(`exited (${code}) before printing ${ready}:\n${err}`));
    child.stderr!.on("data", onData);
    child.once("exit", onExit);
  });
}

/** Options for reading a flow file's bytes. */
interface RawFlowOptions {
  /** the file is still being written: a last flow that runs past the end is left out, not an error */
  beingWritten?: boolean;
}

/** The top-level dicts of a flow file, decoded as they stand (no migration, no model). */
export function flowDicts(bytes: Buffer, opts: RawFlowOptions = {}): TDict[] {
  return rawFlows(bytes, opts).map((raw) => decode(raw) as TDict);
}

/** The flows of a mitm file as their raw bytes. */
export function rawFlows(bytes: Buffer, opts: RawFlowOptions = {}): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < bytes.length; ) {
    let next: number;
    try {
      next = spanAt(bytes, pos, bytes.length).next;
    } catch (e) {
      if (opts.beingWritten && /runs past the end|missing length prefix/.test(String(e))) break;
      throw e;
    }
    out.push(bytes.subarray(pos, next));
    pos = next;
  }
  return out;
}

/**
 * A capture that spans many of the reader's 1 MiB buffers: `copies` copies of mitmdump's
 * real-v17 capture, one flow bigger than a buffer, then `copies` more; written into `dir`
 * with the big flow alone beside it. Whatever a command does flow by flow to `file` it
 * should do to the parts: copies × (real), big, copies × (real).
 */
export function manyBuffersCapture(dir: string, copies = 120): { file: string; real: string; big: string; copies: number } {
  const real = join(testdata, "captures", "real-v17.mitm");
  const bytes = readFileSync(real);
  const withBody = flowDicts(bytes).find((d) => d.get("response") instanceof Map)!;
  (withBody.get("response") as TDict).set("content", Buffer.alloc(1_500_000, "0123456789"));
  const big = join(dir, "big.mitm");
  writeFileSync(big, encode(withBody));
  const file = join(dir, "many.mitm");
  const parts = Array<Buffer>(copies).fill(bytes);
  writeFileSync(file, Buffer.concat([...parts, readFileSync(big), ...parts]));
  return { file, real, big, copies };
}
