/**
 * `--shard K/N`, `--shard auto`, `--shard auto/N`: which share of the input files this
 * process takes, from the argument or from the CI platform's own variables, and which files
 * belong to it. A file's share comes from a hash of its stable key (its path relative to the
 * glob it came from), never from its place in the list, so the same file lands in the same
 * share whatever the order of the inputs and whichever other files exist.
 */
import { createHash } from "node:crypto";
import { UsageError } from "../errors.js";

/** This process's share: the K-th (1-based) of N. */
export interface Shard {
  k: number;
  n: number;
  /** where K and N came from, for messages: `--shard` or the platform's variable names */
  source: string;
}

/** What `--shard` was given, before the environment is read. */
export type ShardSpec = { k: number; n: number } | { auto: true; n?: number };

/** A CI platform that runs parallel copies of a job and tells each its index. */
interface Platform {
  name: string;
  index: string;
  /** the variable holding the total; none: the total comes from `--shard auto/N` */
  total?: string;
  /** 1 when the index counts from 1 (GitLab), else 0 */
  base: 0 | 1;
}

/** The platforms `--shard auto` knows, in the order they are tried. */
export const SHARD_PLATFORMS: readonly Platform[] = [
  { name: "GitLab CI", index: "CI_NODE_INDEX", total: "CI_NODE_TOTAL", base: 1 },
  { name: "CircleCI", index: "CIRCLE_NODE_INDEX", total: "CIRCLE_NODE_TOTAL", base: 0 },
  { name: "Buildkite", index: "BUILDKITE_PARALLEL_JOB", total: "BUILDKITE_PARALLEL_JOB_COUNT", base: 0 },
  { name: "Kubernetes Indexed Job", index: "JOB_COMPLETION_INDEX", base: 0 },
  { name: "AWS Batch array job", index: "AWS_BATCH_JOB_ARRAY_INDEX", total: "AWS_BATCH_JOB_ARRAY_SIZE", base: 0 },
];

/** Parses the text of `--shard`: `K/N` (1-based), `auto`, or `auto/N`. */
export function parseShardSpec(text: string): ShardSpec {
  const fixed = /^(\d+)\/(\d+)$/.exec(text);
  if (fixed) {
    const k = Number(fixed[1]);
    const n = Number(fixed[2]);
    if (n < 1 || k < 1 || k > n) throw new UsageError(`--shard takes K/N with 1 <= K <= N (got ${JSON.stringify(text)})`);
    return { k, n };
  }
  const auto = /^auto(?:\/(\d+))?$/.exec(text);
  if (auto) {
    if (auto[1] === undefined) return { auto: true };
    const n = Number(auto[1]);
    if (n < 1) throw new UsageError(`--shard auto/N takes N >= 1 (got ${JSON.stringify(text)})`);
    return { auto: true, n };
  }
  throw new UsageError(`--shard takes K/N, auto or auto/N (got ${JSON.stringify(text)})`);
}

function wholeNumber(env: NodeJS.ProcessEnv, name: string): number {
  const text = env[name]!.trim();
  if (!/^\d+$/.test(text)) throw new UsageError(`--shard auto: ${name} is not a whole number (${JSON.stringify(env[name])})`);
  return Number(text);
}

/**
 * The share this process takes. `auto` reads the first platform whose index variable is
 * set; none set, a total missing or contradicting `auto/N`, or an index out of range is a
 * usage error naming the variables.
 */
export function resolveShard(spec: ShardSpec, env: NodeJS.ProcessEnv = process.env): Shard {
  if (!("auto" in spec)) return { ...spec, source: "--shard" };
  const platform = SHARD_PLATFORMS.find((p) => env[p.index] !== undefined && env[p.index] !== "");
  if (!platform) {
    const names = SHARD_PLATFORMS.map((p) => (p.total ? `${p.index}/${p.total}` : p.index)).join(", ");
    throw new UsageError(`--shard auto: no CI shard variables are set (looked for ${names}); use --shard K/N`);
  }
  const index = wholeNumber(env, platform.index);
  const fromEnv = platform.total && env[platform.total] ? wholeNumber(env, platform.total) : undefined;
  if (fromEnv !== undefined && spec.n !== undefined && fromEnv !== spec.n)
    throw new UsageError(`--shard auto/${spec.n}: ${platform.total} says ${fromEnv} shares`);
  const n = fromEnv ?? spec.n;
  if (n === undefined)
    throw new UsageError(`--shard auto: ${platform.index} is set but no total: ${platform.total ? `set ${platform.total} or ` : ""}use --shard auto/N`);
  const k = index - platform.base + 1;
  if (n < 1 || k < 1 || k > n)
    throw new UsageError(`--shard auto: ${platform.index}=${index} is outside ${n} shares (${platform.name} counts from ${platform.base})`);
  return { k, n, source: platform.total && fromEnv !== undefined ? `${platform.index}/${platform.total}` : platform.index };
}

/**
 * The share (1-based) of N a file with this key belongs to: the first 32 bits of the key's
 * SHA-256, big-endian, modulo N, plus one. Documented so that anyone can reproduce it.
 */
export function shareOf(key: string, n: number): number {
  return (createHash("sha256").update(key, "utf8").digest().readUInt32BE(0) % n) + 1;
}

/** The inputs that belong to `shard`, in their given order. */
export function inputsOfShard<T extends { key: string }>(inputs: readonly T[], shard: Shard): T[] {
  return inputs.filter((input) => shareOf(input.key, shard.n) === shard.k);
}

/**
 * The inputs of `shard`, with a warning when the split cannot be even: fewer files than
 * shares (a file is never split across shares), or none for this share (its output is
 * written, with no flows, so that a merge step finds every share's file).
 */
export function takeShare<T extends { key: string; path: string }>(inputs: readonly T[], shard: Shard, warn: (m: string) => void): T[] {
  const mine = inputsOfShard(inputs, shard);
  const files = `${inputs.length} input file${inputs.length === 1 ? "" : "s"}`;
  if (inputs.length < shard.n)
    warn(`${files} for ${shard.n} shares: a file is never split across shares, so some shares get no file`);
  if (mine.length === 0) warn(`share ${shard.k}/${shard.n} (from ${shard.source}) gets none of the ${files}: its output has no flows`);
  return mine;
}
