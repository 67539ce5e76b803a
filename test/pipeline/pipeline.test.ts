/** The script host in this process: which events it wants, as scripts and stages come and go. */
import { describe, expect, it } from "vitest";
import { Pipeline } from "../../src/pipeline/pipeline.js";
import { type LoadedScript, ScriptContext } from "../../src/pipeline/script.js";

/** A loaded script made of hooks, as loadScript makes one from a module. */
function script(pipeline: Pipeline, hooks: LoadedScript["hooks"]): LoadedScript {
  const s: LoadedScript = { spec: "t.ts", path: "/t.ts", argv: ["t.ts"], ctx: undefined as unknown as ScriptContext, hooks };
  s.ctx = new ScriptContext(pipeline, s);
  return s;
}

describe("Pipeline.wants", () => {
  it("follows the stages added and the scripts reloaded after it was first asked", () => {
    const p = new Pipeline({ print: () => {} });
    expect(p.wants("response")).toBe(false);
    p.addStage("rules", { request: () => {} });
    expect(p.wants("request")).toBe(true);
    expect(p.wants("response")).toBe(false);
    p.scripts.push(script(p, { error: () => {} }));
    p.replaceScript(1, script(p, { response: () => {} })); // a live reload of the script
    expect(p.wants("response")).toBe(true);
    expect(p.wants("error")).toBe(false);
  });
});
