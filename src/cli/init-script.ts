/**
 * `reflow init-script NAME.ts`: a typed example script to start from, and a tsconfig.json
 * beside it that finds reflow's types wherever reflow is installed, so that
 * `npx -p typescript tsc --noEmit` checks the script.
 */
import { existsSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { OutputError, UsageError } from "../errors.js";
import { failureMessage } from "../io/output-file.js";
import { info } from "./report.js";

/** This package's root (the chunk is two levels down, in dist/cli/, as this source is in src/cli/). */
const packageRoot = fileURLToPath(new URL("../../", import.meta.url));

const EXAMPLE = `/**
 * A reflow script: its exported functions are event hooks, each given this script's context
 * first. Run it with:  reflow run -r capture.mitm -s NAME -w out.mitm
 * Check its types with:  npx -p typescript tsc --noEmit
 */
import { type HTTPFlow, type ScriptContext, decoded } from "reflow";

/** Before the first flow: the script's arguments (-s 'NAME a b' gives ["NAME", "a", "b"]). */
export function start(ctx: ScriptContext, argv: string[]): void {
  ctx.marker = argv[1] ?? "reflow";
  ctx.seen = 0;
}

/** Each request, before its response. */
export function request(ctx: ScriptContext, flow: HTTPFlow): void {
  flow.request.headers.set("x-rewritten-by", ctx.marker);
  ctx.seen++;
}

/** Each response. */
export function response(ctx: ScriptContext, flow: HTTPFlow): void {
  const response = flow.response!;
  if ((response.headers.get("content-type") ?? "").includes("json"))
    decoded(response, () => {
      response.text = (response.text ?? "").replace(/"password":\\s*"[^"]*"/g, '"password":"REDACTED"');
    });
}

/** After the last flow. */
export function done(ctx: ScriptContext): void {
  ctx.log(\`rewrote \${ctx.seen} requests\`, "info");
}
`;

/**
 * The tsconfig.json: strict, Node 20, `reflow` and Node's types from this installation, for
 * every script of its folder (a second init-script there keeps it, and is checked too).
 */
function tsconfig(): string {
  const config = {
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ["node"],
      typeRoots: [join(packageRoot, "node_modules", "@types")],
      paths: { reflow: [join(packageRoot, "dist", "index.d.ts")] },
    },
    include: ["*.ts", "*.mts"],
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Writes a new file (never over an existing one); a failure is one line, exit 2. */
function writeNew(path: string, text: string, shown = path): void {
  try {
    writeFileSync(path, text, { flag: "wx" });
  } catch (e) {
    throw new OutputError(shown, failureMessage(e));
  }
}

export function registerInitScript(program: Command): void {
  program
    .command("init-script")
    .summary("write a typed example script and a tsconfig.json that type-checks it")
    .description(
      "Writes NAME (a .ts script with the common hooks, typed by reflow's own types) and, unless one exists, a " +
        "tsconfig.json beside it whose paths point at this reflow's types, so `npx -p typescript tsc --noEmit` checks " +
        "the scripts of that folder. An existing NAME is never overwritten.",
    )
    .argument("<NAME.ts>", "the script to write")
    .addHelpText(
      "after",
      `
Examples:
  reflow init-script rewrite.ts && npx -p typescript tsc --noEmit && reflow run -r cap.mitm -s rewrite.ts -w out.mitm`,
    )
    .action((name: string) => {
      if (!/\.(ts|mts)$/.test(name)) throw new UsageError(`init-script writes TypeScript: ${JSON.stringify(name)} should end in .ts`);
      const path = resolve(name);
      if (existsSync(path)) throw new UsageError(`${name} exists; choose another name (it is never overwritten)`);
      writeNew(path, EXAMPLE.replaceAll("NAME", basename(path)), name);
      info(`wrote ${name}`);
      const config = join(dirname(path), "tsconfig.json");
      if (existsSync(config)) info(`kept the existing ${config}: reflow's types are at ${join(packageRoot, "dist", "index.d.ts")}`);
      else {
        writeNew(config, tsconfig());
        info(`wrote ${config}`);
      }
    });
}
