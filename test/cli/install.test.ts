/**
 * Installing like a Node tool: `npm pack`, then `npm install -g` of the tarball (into a
 * temporary prefix) gives a `reflow` on PATH; `reflow init-script` writes a script whose
 * types `tsc --noEmit` checks against the installed reflow, and the installed reflow runs it.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { fixtures, projectRoot } from "../helpers.js";

const tsc = join(projectRoot, "node_modules", "typescript", "bin", "tsc");
let root: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "reflow-install-"));
  const pack = spawnSync("npm", ["pack", "--pack-destination", root], { cwd: projectRoot, encoding: "utf8" });
  expect(pack.status, pack.stderr).toBe(0);
  const tarball = readdirSync(root).find((f) => f.endsWith(".tgz"))!;
  expect(tarball, "npm pack made a tarball").toBeDefined();
  // --prefer-offline: dependencies from npm's cache (filled by `npm ci`) where it has them
  const install = spawnSync("npm", ["install", "-g", "--prefix", join(root, "prefix"), "--prefer-offline", "--no-audit", "--no-fund", join(root, tarball)], {
    encoding: "utf8",
    timeout: 300_000,
  });
  expect(install.status, install.stderr).toBe(0);
  env = { ...process.env, PATH: `${join(root, "prefix", "bin")}:${process.env.PATH}`, NO_COLOR: "1" };
}, 320_000);

/** `reflow ARGS` as the shell finds it on PATH (the installed one). */
const installed = (args: string[], cwd: string) => spawnSync("reflow", args, { cwd, env, encoding: "utf8" });

describe("npm install -g of the packed package", () => {
  it("puts a working reflow on PATH whose --help lists every command with an example", () => {
    const which = spawnSync("sh", ["-c", "command -v reflow"], { env, encoding: "utf8" });
    expect(which.stdout.trim()).toBe(join(root, "prefix", "bin", "reflow"));
    const help = installed(["--help"], root);
    expect(help.status, help.stderr).toBe(0);
    const listed = help.stdout.slice(help.stdout.indexOf("Commands:"), help.stdout.indexOf("Examples:"));
    const commands = [...listed.matchAll(/^ {2}([a-z-]+) .*$/gm)].map((m) => m[1]!).filter((c) => c !== "help");
    expect(commands.length).toBeGreaterThanOrEqual(8);
    const examples = help.stdout.slice(help.stdout.indexOf("Examples:"));
    for (const c of commands) expect(examples, `an example of ${c}`).toMatch(new RegExp(`^ {2}reflow ${c} `, "m"));
  });

  it("init-script writes a script that tsc checks against the installed types, and that the installed reflow runs", () => {
    const dir = join(root, "scripts");
    mkdirSync(dir);
    const init = installed(["init-script", "rewrite.ts"], dir);
    expect(init.status, init.stderr).toBe(0);
    const check = spawnSync(process.execPath, [tsc, "--noEmit", "-p", dir], { encoding: "utf8" });
    expect(check.status, check.stdout).toBe(0);
    // the types are really there: a wrong property is an error
    writeFileSync(join(dir, "wrong.ts"), `import type { HTTPFlow } from "reflow";\nexport function request(_: unknown, f: HTTPFlow) { f.request.methd = "GET"; }\n`);
    writeFileSync(join(dir, "tsconfig.wrong.json"), JSON.stringify({ extends: "./tsconfig.json", files: ["wrong.ts"] }));
    const wrong = spawnSync(process.execPath, [tsc, "--noEmit", "-p", join(dir, "tsconfig.wrong.json")], { encoding: "utf8" });
    expect(wrong.status).not.toBe(0);
    expect(wrong.stdout).toMatch(/TS2339|TS2551/); // no such property (did you mean 'method'?)
    const run = installed(["run", "-r", join(fixtures, "sample.mitm"), "-s", "rewrite.ts", "-w", "out.mitm"], dir);
    expect(run.status, run.stderr).toBe(0);
    expect(installed(["init-script", "rewrite.ts"], dir).status, "an existing script is never overwritten").toBe(2);
  });
});
