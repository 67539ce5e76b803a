/**
 * The layering of src/, checked by dependency-cruiser (test/layering.test.ts runs it in
 * `make test`): a folder imports only folders of a LOWER rank (and itself). The rules are
 * made from this one table, in the order the data flows (README, "Layout"); a new folder
 * goes into the table, never into an exception. Each folder gets one rule, `layer-<folder>`.
 */
const LAYERS = [
  ["format"], // bytes ⇄ flow state
  ["model"], // flow state ⇄ the objects scripts touch
  ["filter"],
  ["io"],
  ["pipeline", "display", "rules"], // rules: rewrite rules, run by the pipeline's script host as a stage
  ["diff", "capture", "replay", "export"], // front ends and reports
  ["cli"],
];

/** Outside the chain: imports no other folder; only the front ends (and cli) import it. */
const PROXY = "proxy";
const PROXY_IMPORTED_FROM_RANK = LAYERS.findIndex((rank) => rank.includes("capture"));

/** Shared by every folder: the error types and their codes. */
const SHARED = "src/errors\\.ts$";

const folders = (names) => `^src/(${names.join("|")})/`;
const rules = [];
LAYERS.forEach((rank, i) => {
  const above = LAYERS.slice(i + 1).flat();
  for (const folder of rank) {
    const forbidden = [...above, ...rank.filter((f) => f !== folder)];
    if (i < PROXY_IMPORTED_FROM_RANK) forbidden.push(PROXY);
    const allowed = [...LAYERS.slice(0, i).flat(), ...(i >= PROXY_IMPORTED_FROM_RANK ? [PROXY] : [])];
    rules.push({
      name: `layer-${folder}`,
      severity: "error",
      comment:
        `src/${folder}/ may import ${allowed.length ? allowed.join(", ") + " and " : "no other folder, only "}src/errors.ts; ` +
        `not ${[...forbidden, "the library entry"].join(", ")} (layers: ${LAYERS.map((r) => r.join("/")).join(" → ")})`,
      from: { path: `^src/${folder}/` },
      to: { path: [...(forbidden.length ? [folders(forbidden)] : []), "^src/index\\.ts$"] },
    });
  }
});
rules.push({
  name: "layer-proxy",
  severity: "error",
  comment: "src/proxy/ imports only Node, its own files and src/errors.ts: behaviour crosses its ProxyHandler interface",
  from: { path: `^src/${PROXY}/` },
  to: { path: "^src/", pathNot: [`^src/${PROXY}/`, SHARED] },
});
rules.push({
  name: "layer-errors",
  severity: "error",
  comment: "src/errors.ts is shared by every folder, so it imports none of them",
  from: { path: SHARED },
  to: { path: "^src/" },
});

module.exports = {
  forbidden: rules,
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "node_modules" },
    // `import type` is a dependency too: a type from a higher layer is an upward import.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
  },
};
