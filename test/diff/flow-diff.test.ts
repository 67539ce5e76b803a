/**
 * Diffing damaged inputs: damage that only comparing a flow meets is the input damage of the
 * side it is in (FlowReadError, naming that file, offset and flow), whichever side, whatever
 * the format, never an internal error nor the other file's name.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultCompareOptions } from "../../src/diff/diff-options.js";
import { type DiffReport, diffFlowStreams } from "../../src/diff/flow-diff.js";
import { FlowReadError } from "../../src/errors.js";
import { encode, type TDict, type TValue } from "../../src/format/tnetstring.js";
import { readFlows } from "../../src/io/flow-source.js";
import { flowDicts, reflow, testdata } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "reflow-flow-diff-"));
const real = join(testdata, "captures", "real-v17.mitm");
const report: DiffReport = { flow: () => {}, end: () => {} };

/** Diffs `a` with `b` by id and returns what it threw. */
async function diffError(a: string, b: string): Promise<unknown> {
  try {
    await diffFlowStreams(readFlows(a), readFlows(b), { by: "id", compare: defaultCompareOptions({}) }, report);
  } catch (e) {
    return e;
  }
  return undefined;
}

/** real-v17.mitm with flow `index` changed by `damage`; returns its path and the flow's byte offset. */
function damagedMitm(name: string, index: number, damage: (flow: TDict) => void): { path: string; offset: number } {
  const flows = flowDicts(readFileSync(real)).map((f) => encode(f));
  const dicts = flowDicts(readFileSync(real));
  damage(dicts[index]!);
  flows[index] = encode(dicts[index]!);
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat(flows));
  return { path, offset: Buffer.concat(flows.slice(0, index)).length };
}

/** Index of the first flow of real-v17.mitm with a response. */
const withResponse = flowDicts(readFileSync(real)).findIndex((f) => f.get("response") instanceof Map);

describe("diff of a damaged input", () => {
  it("names the side the damage is in, not the first side (a header value that is not bytes)", async () => {
    const bad = damagedMitm("header.mitm", withResponse, (f) => {
      const headers = (f.get("response") as TDict).get("headers") as TValue[][];
      headers[0]![1] = 7;
    });
    for (const [a, b] of [[real, bad.path], [bad.path, real]] as const) {
      const e = await diffError(a, b);
      expect(e, `diff ${a} ${b}`).toBeInstanceOf(FlowReadError);
      expect((e as FlowReadError).file).toBe(bad.path);
      expect((e as FlowReadError).flowIndex).toBe(withResponse);
      expect((e as FlowReadError).offset).toBe(bad.offset);
    }
  });

  it("is input damage when the model refuses a part (a request that is bytes)", async () => {
    const bad = damagedMitm("request.mitm", 1, (f) => f.set("request", Buffer.from("x")));
    const e = await diffError(real, bad.path);
    expect(e).toBeInstanceOf(FlowReadError);
    expect((e as FlowReadError).file).toBe(bad.path);
    expect((e as FlowReadError).flowIndex).toBe(1);
  });

  it("is input damage in JSON Lines too (a connection's error that is an object)", async () => {
    const good = join(dir, "good.jsonl");
    expect(reflow(["convert", real, "-o", good]).status).toBe(0);
    const lines = readFileSync(good, "utf8").split("\n");
    const line = JSON.parse(lines[2]!);
    line.server_conn.error = { a: [1] };
    lines[2] = JSON.stringify(line);
    const bad = join(dir, "bad.jsonl");
    writeFileSync(bad, lines.join("\n"));
    const e = await diffError(good, bad);
    expect(e).toBeInstanceOf(FlowReadError);
    expect((e as FlowReadError).file).toBe(bad);
    expect((e as FlowReadError).flowIndex).toBe(2);
  });

  it("exits 3 in one line naming the damaged file (reflow diff)", () => {
    const bad = damagedMitm("cli.mitm", 1, (f) => f.set("request", Buffer.from("x")));
    const r = reflow(["diff", real, bad.path]);
    const err = r.stderr.toString();
    expect(r.status, err).toBe(3);
    expect(err.trim().split("\n"), err).toHaveLength(1);
    expect(err).toContain(`${bad.path}: `);
    expect(err).toContain(`byte offset ${bad.offset}, flow #1`);
  });
});
