/** The scripts as a stage, in this process: each saved flow's events in order, with plain and async hooks, kills and answers. */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MigrationContext } from "../../src/format/migrations/index.js";
import { readFlowRecords } from "../../src/io/flow-source.js";
import { type Flow, type HTTPFlow, Response } from "../../src/model/index.js";
import { PassingFlow } from "../../src/pipeline/passing-flow.js";
import { Pipeline, type StageHooks } from "../../src/pipeline/pipeline.js";
import { ScriptStage } from "../../src/pipeline/script-stage.js";
import { testdata } from "../helpers.js";

const FILES = ["real-v17.mitm", "tflow-v21.mitm"].map((f) => join(testdata, "captures", f));

/** The events a flow gets when no hook changes it (spec §3), as `event id`. */
function expectedEvents(flow: Flow): string[] {
  if (flow.type !== "http") return flow.error ? [`error ${flow.id}`] : [];
  const http = flow as HTTPFlow;
  const out = [`request ${flow.id}`];
  if (http.response) out.push(`responseheaders ${flow.id}`, `response ${flow.id}`);
  if (flow.error) out.push(`error ${flow.id}`);
  return out;
}

/** Runs every flow of the test files through a ScriptStage of `hooks`; the verdicts and the events seen. */
async function runHooks(hooks: (seen: string[], pipeline: Pipeline) => StageHooks): Promise<{ seen: string[]; verdicts: boolean[]; flows: Flow[] }> {
  const seen: string[] = [];
  const pipeline = new Pipeline({ print: () => {} });
  pipeline.addStage("events", hooks(seen, pipeline));
  const stage = new ScriptStage(pipeline);
  const verdicts: boolean[] = [];
  const flows: Flow[] = [];
  for (const file of FILES)
    for await (const record of readFlowRecords(file, new MigrationContext())) {
      const passing = new PassingFlow(record);
      flows.push(passing.flow);
      verdicts.push((await stage.process(passing, () => {})) as boolean);
    }
  return { seen, verdicts, flows };
}

const recorder =
  (asyncEvents: string[]) =>
  (seen: string[]): StageHooks => {
    const hook = (event: string) => (flow: Flow) => {
      seen.push(`${event} ${flow.id}`);
      return asyncEvents.includes(event) ? new Promise<void>((r) => setImmediate(r)) : undefined;
    };
    return { request: hook("request"), responseheaders: hook("responseheaders"), response: hook("response"), error: hook("error") };
  };

describe("ScriptStage", () => {
  it.each([[[]], [["request"]], [["responseheaders"]], [["response", "error"]], [["request", "responseheaders", "response", "error"]]])(
    "fires each flow's events in order, hooks waited for: %j",
    async (asyncEvents) => {
      const { seen, verdicts, flows } = await runHooks(recorder(asyncEvents));
      expect(flows.length).toBeGreaterThan(10);
      expect(seen).toEqual(flows.flatMap(expectedEvents));
      expect(verdicts.every((v) => v)).toBe(true);
    },
  );

  it("stops a flow's events where a hook kills it, plain or waited for", async () => {
    for (const wait of [false, true]) {
      let victim: string | undefined;
      const { seen, verdicts, flows } = await runHooks((seen, pipeline) => ({
        request: (flow: Flow) => void seen.push(`request ${flow.id}`),
        responseheaders: (flow: HTTPFlow) => {
          seen.push(`responseheaders ${flow.id}`);
          if (victim === undefined) {
            victim = flow.id;
            pipeline.killFlow(flow); // as ctx.killFlow does
          }
          return wait ? Promise.resolve() : undefined;
        },
        response: (flow: Flow) => void seen.push(`response ${flow.id}`),
        error: (flow: Flow) => void seen.push(`error ${flow.id}`),
      }));
      const at = flows.findIndex((f) => f.id === victim);
      expect(at, "a flow with a response").toBeGreaterThanOrEqual(0);
      expect(verdicts[at]).toBe(false);
      expect(seen).toEqual(flows.flatMap((f) => (f.id === victim ? [`request ${f.id}`, `responseheaders ${f.id}`] : expectedEvents(f))));
    }
  });

  it("gives a response a request hook made the response events, even after waiting", async () => {
    const { seen, flows } = await runHooks((seen) => ({
      request: async (flow: HTTPFlow) => {
        seen.push(`request ${flow.id}`);
        await Promise.resolve();
        if (!flow.response) flow.response = Response.make(204);
      },
      response: (flow: HTTPFlow) => void seen.push(`response ${flow.id} ${flow.response!.statusCode}`),
    }));
    const answered = flows.filter((f) => f.type === "http" && (f as HTTPFlow).response?.statusCode === 204);
    expect(answered.length, "flows without a response in the test files").toBeGreaterThan(0);
    for (const f of answered) expect(seen).toContain(`response ${f.id} 204`);
  });
});

