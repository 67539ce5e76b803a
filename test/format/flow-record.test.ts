/**
 * Damage found inside a flow is named with its file, offset and flow, in words about the
 * flow: nesting deep enough to exhaust the stack is said to be nesting, not in the engine's
 * words (a RangeError's "Maximum call stack size exceeded").
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FlowReadError } from "../../src/errors.js";
import { encode } from "../../src/format/tnetstring.js";
import { readFlows } from "../../src/io/flow-source.js";
import { flowDicts, reflow, testdata } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "reflow-flow-record-"));
const real = join(testdata, "captures", "real-v17.mitm");
const DEPTH = 200_000;

/** A tnetstring list nested DEPTH deep (built as bytes: encoding it would recurse as deep). */
function deepList(): Buffer {
  const lengths: number[] = [];
  for (let len = 3, i = 0; i < DEPTH; i++, len += String(len).length + 2) lengths.push(len);
  return Buffer.from(`${lengths.reverse().map((l) => `${l}:`).join("")}0:]${"]".repeat(DEPTH)}`);
}

/** Reads every flow of `path` whole (as `check` does) and returns the error, with the flows read before it. */
async function readAll(path: string): Promise<{ error: unknown; read: number }> {
  let read = 0;
  try {
    for await (const f of readFlows(path)) {
      void f.metadata;
      void f.type;
      read++;
    }
  } catch (error) {
    return { error, read };
  }
  return { error: undefined, read };
}

function expectNestingNamed(error: unknown, file: string, index: number): void {
  expect(error).toBeInstanceOf(FlowReadError);
  const e = error as FlowReadError;
  expect(e.code).toBe("E_FLOW_SCHEMA");
  expect(e.file).toBe(file);
  expect(e.flowIndex).toBe(index);
  expect(e.detail, "said as nesting, not as the engine's stack overflow").not.toMatch(/call stack/i);
}

describe("a flow nested too deeply to read", () => {
  it("in a mitm file is damage of that flow, the flows before it read", async () => {
    const dicts = flowDicts(readFileSync(real));
    const deep = deepList();
    // a bytes value exactly as long as the deep list stands in for it, then is swapped for it
    let n = deep.length - 3;
    while (`${n}:`.length + n + 1 > deep.length) n--;
    const stand = Buffer.alloc(n, 0x78);
    dicts[1]!.set("metadata", new Map([["deep", stand]]));
    const flows = dicts.map((d) => encode(d));
    const at = flows[1]!.indexOf(Buffer.concat([Buffer.from(`${n}:`), stand, Buffer.from(",")]));
    deep.copy(flows[1]!, at);
    const path = join(dir, "deep.mitm");
    writeFileSync(path, Buffer.concat(flows));
    const { error, read } = await readAll(path);
    expectNestingNamed(error, path, 1);
    expect(read).toBe(1);
  });

  it("in JSON Lines is damage of that flow, and `check` says it in one line (exit 3)", async () => {
    const good = join(dir, "good.jsonl");
    expect(reflow(["convert", real, "-o", good]).status).toBe(0);
    const lines = readFileSync(good, "utf8").split("\n");
    lines[1] = lines[1]!.replace('"trailers":null', `"trailers":${"[".repeat(DEPTH)}${"]".repeat(DEPTH)}`);
    const path = join(dir, "deep.jsonl");
    writeFileSync(path, lines.join("\n"));
    const { error, read } = await readAll(path);
    expectNestingNamed(error, path, 1);
    expect(read).toBe(1);
    const r = reflow(["check", path]);
    const err = r.stderr.toString();
    expect(r.status, err).toBe(3);
    expect(err.split("\n").filter((l) => l.startsWith("error:")), err).toHaveLength(1);
    expect(err).not.toMatch(/call stack/i);
  });
});
