/**
 * Builds reflow's JavaScript: the CLI, its run worker and the library entry, bundled by
 * esbuild into dist/ (tsc type-checks and writes only the .d.ts files; see `make build`).
 *
 * Why a bundle: Node resolves, reads and compiles each ES module on its own, and a command
 * loads about 75 of ours. That was ~25 ms of every command's start-up, a tenth of a filter
 * pass over 168 MB. Bundled, a command loads a handful of files.
 *
 * The three entries share their code through chunks, so a user script's
 * `import { HTTPFlow } from "reflow"` (dist/index.js) gets the very classes the CLI made
 * its flows with. Chunks go in dist/cli/, two levels down as every source file is: code that
 * finds files from `import.meta.url` (package.json, the run worker, the library entry) finds
 * them from a chunk as it did from its source file. Packages stay outside, in node_modules,
 * but for commander, which every command loads: as CommonJS of its own it cost ~9 ms.
 */
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

// Chunk names change with their contents: drop the JavaScript of earlier builds (not tsc's .d.ts).
if (existsSync(join(root, "dist")))
  for (const f of readdirSync(join(root, "dist"), { recursive: true, encoding: "utf8" }))
    if (/\.js(\.map)?$/.test(f)) rmSync(join(root, "dist", f));

const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const EXTERNAL = Object.keys(pkg.dependencies).filter((d) => d !== "commander");

await build({
  absWorkingDir: root,
  entryPoints: ["src/cli/main.ts", "src/cli/run-worker.ts", "src/index.ts"],
  outdir: "dist",
  outbase: "src",
  chunkNames: "cli/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: EXTERNAL,
  sourcemap: "linked",
  // Less text for V8 to scan at every start (about 5 ms of a run's 120): names are kept, and
  // stacks read through the source map (scripts turn source maps on) point into src/ as before.
  minifyWhitespace: true,
  logLevel: "warning",
  // commander is CommonJS and require()s Node's modules, which ES modules have no require for
  banner: { js: 'import { createRequire as __reflowRequire } from "node:module"; const require = __reflowRequire(import.meta.url);' },
});

// Code at the top level of dist/ would resolve paths relative to `import.meta.url` one level off.
const shallow = readdirSync(join(root, "dist")).filter(
  (f) => f.endsWith(".js") && /new URL\([^)]*import\.meta\.url/.test(readFileSync(join(root, "dist", f), "utf8")),
);
if (shallow.length) {
  console.error(`bundle: ${shallow.join(", ")}: paths relative to import.meta.url at the top of dist/ resolve one level off`);
  process.exit(1);
}
