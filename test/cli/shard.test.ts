import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { UsageError } from "../../src/errors.js";
import { parseShardSpec, resolveShard, SHARD_PLATFORMS, shareOf, inputsOfShard } from "../../src/cli/shard.js";
import { cliPath, fixtures, testdata } from "../helpers.js";

/** The code of the UsageError `fn` throws (fails the test when it throws nothing or something else). */
function usageCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e, "a UsageError").toBeInstanceOf(UsageError);
    return (e as UsageError).code;
  }
  throw new Error("expected a usage error, nothing was thrown");
}

describe("--shard: parsing and the CI platforms' variables", () => {
  it("reads K/N, auto and auto/N, and refuses anything else", () => {
    expect(parseShardSpec("2/4")).toEqual({ k: 2, n: 4 });
    expect(parseShardSpec("auto")).toEqual({ auto: true });
    expect(parseShardSpec("auto/3")).toEqual({ auto: true, n: 3 });
    for (const bad of ["0/2", "3/2", "2/0", "auto/0", "automatic", "1/2/3", ""]) expect(usageCode(() => parseShardSpec(bad)), bad).toBe("E_USAGE");
  });

  it("takes each platform's index and total, with its own counting base", () => {
    const auto = parseShardSpec("auto");
    expect(resolveShard(auto, { CI_NODE_INDEX: "1", CI_NODE_TOTAL: "3" })).toMatchObject({ k: 1, n: 3 }); // GitLab: 1-based
    expect(resolveShard(auto, { CIRCLE_NODE_INDEX: "0", CIRCLE_NODE_TOTAL: "3" })).toMatchObject({ k: 1, n: 3 });
    expect(resolveShard(auto, { BUILDKITE_PARALLEL_JOB: "2", BUILDKITE_PARALLEL_JOB_COUNT: "3" })).toMatchObject({ k: 3, n: 3 });
    expect(resolveShard(auto, { AWS_BATCH_JOB_ARRAY_INDEX: "4", AWS_BATCH_JOB_ARRAY_SIZE: "5" })).toMatchObject({ k: 5, n: 5 });
    expect(resolveShard(parseShardSpec("auto/4"), { JOB_COMPLETION_INDEX: "3" })).toMatchObject({ k: 4, n: 4 });
    expect(resolveShard(parseShardSpec("auto/5"), { AWS_BATCH_JOB_ARRAY_INDEX: "1" })).toMatchObject({ k: 2, n: 5 });
    expect(resolveShard(parseShardSpec("3/7"), { CI_NODE_INDEX: "1", CI_NODE_TOTAL: "2" })).toMatchObject({ k: 3, n: 7 });
  });

  it("is a usage error naming the variables when none is set, a total is missing, contradicted or the index is out of range", () => {
    let message = "";
    try {
      resolveShard(parseShardSpec("auto"), {});
    } catch (e) {
      message = (e as Error).message;
    }
    for (const p of SHARD_PLATFORMS) expect(message, "names every variable it looked for").toContain(p.index);
    expect(usageCode(() => resolveShard(parseShardSpec("auto"), {}))).toBe("E_USAGE");
    expect(usageCode(() => resolveShard(parseShardSpec("auto"), { JOB_COMPLETION_INDEX: "0" }))).toBe("E_USAGE");
    expect(usageCode(() => resolveShard(parseShardSpec("auto/3"), { CI_NODE_INDEX: "1", CI_NODE_TOTAL: "2" }))).toBe("E_USAGE");
    expect(usageCode(() => resolveShard(parseShardSpec("auto"), { CI_NODE_INDEX: "0", CI_NODE_TOTAL: "2" }))).toBe("E_USAGE");
    expect(usageCode(() => resolveShard(parseShardSpec("auto"), { CIRCLE_NODE_INDEX: "2", CIRCLE_NODE_TOTAL: "2" }))).toBe("E_USAGE");
    expect(usageCode(() => resolveShard(parseShardSpec("auto"), { CIRCLE_NODE_INDEX: "x", CIRCLE_NODE_TOTAL: "2" }))).toBe("E_USAGE");
  });

  it("gives a file the same share whatever the order of the list and whichever other files exist", () => {
    const keys = Array.from({ length: 200 }, (_, i) => ({ key: `day-${i}/capture.mitm` }));
    const shard = { k: 2, n: 5, source: "--shard" };
    const mine = inputsOfShard(keys, shard);
    expect(inputsOfShard([...keys].reverse(), shard).map((i) => i.key).sort()).toEqual(mine.map((i) => i.key).sort());
    expect(inputsOfShard(keys.slice(50), shard)).toEqual(mine.filter((i) => keys.slice(50).includes(i)));
    // every key in exactly one share, and no share starved by a bad hash over 200 keys
    const sizes = [1, 2, 3, 4, 5].map((k) => inputsOfShard(keys, { k, n: 5, source: "--shard" }).length);
    expect(sizes.reduce((a, b) => a + b)).toBe(200);
    for (const s of sizes) expect(s).toBeGreaterThan(20);
    expect(shareOf("day-7/capture.mitm", 5)).toBe(shareOf("day-7/capture.mitm", 5));
  });
});

describe("reflow run --shard over a folder of captures", () => {
  let root: string;
  const names = ["a/one.mitm", "a/two.mitm", "b/three.mitm", "b/four.mitm", "c/five.mitm", "c/six.mitm", "seven.mitm"];
  const sources = [join(fixtures, "sample.mitm"), join(testdata, "captures", "real-v17.mitm"), join(testdata, "captures", "tflow-v17.mitm")];
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "reflow-shard-"));
    names.forEach((name, i) => {
      mkdirSync(join(root, "caps", name, ".."), { recursive: true });
      copyFileSync(sources[i % sources.length]!, join(root, "caps", name));
    });
  });

  /** `reflow run` with only the given CI variables set (the test's own CI's are removed). */
  function run(args: string[], env: Record<string, string>, cwd = root) {
    const clean = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !SHARD_PLATFORMS.some((p) => k === p.index || k === p.total)),
    );
    return spawnSync(process.execPath, [cliPath, "run", ...args], { cwd, env: { ...clean, ...env, NO_COLOR: "1" } });
  }

  /** The files share `index` of `total` took (their per-input outputs), given these inputs and CircleCI's variables. */
  function shareFiles(inputs: string[], index: number, total: number, tag: string, cwd = root): string[] {
    const out = join(root, `${tag}-${index}`);
    const r = run(["-r", ...inputs, "--shard", "auto", "-w", out + "/", "-q"], { CIRCLE_NODE_INDEX: String(index), CIRCLE_NODE_TOTAL: String(total) }, cwd);
    expect(r.status, r.stderr.toString()).toBe(0);
    return outputsUnder(out).map((f) => basename(f)).sort();
  }

  /** The files written under `dir` (per-input outputs may mirror the inputs' folders). */
  function outputsUnder(dir: string): string[] {
    return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => statSync(join(dir, f)).isFile());
  }

  it("shares from GitLab's variables (1-based) cover every file once, each output complete", () => {
    const taken = [1, 2, 3].flatMap((i) => {
      const out = join(root, `gitlab-${i}`);
      const r = run(["-r", "caps/**/*.mitm", "--shard", "auto", "-w", out + "/", "-q"], { CI_NODE_INDEX: String(i), CI_NODE_TOTAL: "3" });
      expect(r.status, r.stderr.toString()).toBe(0);
      const files = outputsUnder(out);
      for (const f of files) expect(readFileSync(join(out, f)).equals(readFileSync(join(root, "caps", names.find((n) => n.endsWith(basename(f)))!))), f).toBe(true);
      return files.map((f) => basename(f));
    });
    expect(taken.sort()).toEqual(names.map((n) => basename(n)).sort());
  });

  it("a file keeps its share when the list comes in another order or other files are added", () => {
    const listed = [...names]; // as paths from inside caps/, they have the keys the glob gives them
    for (const index of [0, 1, 2]) {
      const glob = shareFiles(["caps/**/*.mitm"], index, 3, "glob");
      expect(shareFiles(listed.reverse(), index, 3, "reversed", join(root, "caps")), "the same keys as the glob's").toEqual(glob);
      copyFileSync(join(fixtures, "sample.mitm"), join(root, "caps", "b", "extra.mitm"));
      const grown = shareFiles(["caps/**/*.mitm"], index, 3, `grown`);
      rmSync(join(root, "caps", "b", "extra.mitm"));
      expect(grown.filter((f) => f !== "extra.mitm"), "the old files stay where they were").toEqual(glob);
    }
  });

  it("says so when there are fewer files than shares, and still writes an empty output for an empty share", () => {
    const outs = [1, 2, 3, 4].map((k) => {
      const out = join(root, `one-${k}.mitm`);
      const r = run(["-r", "caps/seven.mitm", "--shard", "auto/4", "-w", out], { JOB_COMPLETION_INDEX: String(k - 1) });
      expect(r.status, r.stderr.toString()).toBe(0);
      expect(r.stderr.toString(), "a warning about the uneven split").toMatch(/^warning:/m);
      return readFileSync(out);
    });
    expect(outs.filter((b) => b.length > 0)).toHaveLength(1);
    expect(outs.filter((b) => b.length === 0)).toHaveLength(3);
  });

  it("--shard auto with no CI variables is a usage error (exit 2) before anything is written", () => {
    const r = run(["-r", "caps/seven.mitm", "--shard", "auto", "-w", join(root, "never.mitm")], {});
    expect(r.status).toBe(2);
    expect(existsSync(join(root, "never.mitm")), "no output").toBe(false);
  });
});
