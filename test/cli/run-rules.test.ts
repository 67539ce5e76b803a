/**
 * Rewrite rules from the command line: applied offline (where mitmproxy's own do nothing),
 * in command-line order before scripts, the same with --jobs, and live in `reflow capture`.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFlows } from "../../src/io/flow-source.js";
import type { Flow, HTTPFlow } from "../../src/model/index.js";
import { fixtures, reflow, testdata } from "../helpers.js";
import { httpOrigin, killStrayCaptures, type Listening, startCapture, viaProxy, waitForHttpFlow } from "../proxy/capture-harness.js";

const sample = join(fixtures, "sample.mitm");
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "reflow-run-rules-"));
});

async function flowsOf(path: string): Promise<HTTPFlow[]> {
  const out: Flow[] = [];
  for await (const f of readFlows(path)) out.push(f);
  return out.filter((f): f is HTTPFlow => f.type === "http");
}

describe("reflow run with rules", () => {
  it("applies rules to saved flows before the scripts, in command-line order", async () => {
    const seen = join(dir, "seen.txt");
    const script = join(dir, "sees.ts");
    writeFileSync(script, `import { appendFileSync } from "node:fs";
export function request(ctx: any, flow: any) { appendFileSync(${JSON.stringify(seen)}, (flow.request.headers.get("x-rule") ?? "none") + "\\n"); }`);
    const out = join(dir, "ruled.mitm");
    const r = reflow(["run", "-r", sample, "-s", script, "--modify-headers", "/X-Rule/first", "--redact", "x-rule", "-w", out]);
    expect(r.status, r.stderr.toString()).toBe(0);
    // the script saw the header already set and then redacted: both rules ran first, in order
    expect(new Set(readFileSync(seen, "utf8").trim().split("\n"))).toEqual(new Set(["REDACTED"]));
    for (const f of await flowsOf(out)) expect(f.request.headers.get("x-rule")).toBe("REDACTED");
  });

  it("gives the same output with --jobs (the rules reach the worker threads)", () => {
    const inputs = [sample, join(testdata, "captures", "real-v17.mitm")];
    const one = join(dir, "one.mitm");
    const two = join(dir, "two.mitm");
    const rules = ["--modify-headers", "/~s/X-Env/ci", "--modify-body", "/~s/o/0"];
    expect(reflow(["run", "-r", ...inputs, ...rules, "-w", one, "-q"]).status).toBe(0);
    expect(reflow(["run", "-r", ...inputs, ...rules, "-w", two, "-q", "-j", "2"]).status).toBe(0);
    expect(readFileSync(two).equals(readFileSync(one))).toBe(true);
    expect(readFileSync(one).equals(readFileSync(sample))).toBe(false);
  });

  it("a malformed rule is a usage error (exit 2) before anything is written", () => {
    const out = join(dir, "never.mitm");
    const r = reflow(["run", "-r", sample, "--map-remote", "|~q|(unclosed|x", "-w", out]);
    expect(r.status).toBe(2);
    expect(r.stderr.toString(), "the rule shown with a caret").toMatch(/\^/);
    expect(() => readFileSync(out)).toThrow();
  });
});

describe("reflow capture with rules", () => {
  let origin: Listening<import("node:http").Server>;
  let other: Listening<import("node:http").Server>;
  const seenByOrigin: Record<string, string | undefined> = {};
  beforeAll(async () => {
    origin = await httpOrigin((req, res) => {
      seenByOrigin[req.url ?? ""] = req.headers["x-live"] as string | undefined;
      res.writeHead(200, { "content-type": "text/plain", server: "origin" });
      res.end(`origin saw ${req.url}`);
    });
    other = await httpOrigin((req, res) => res.end(`other saw ${req.url}`));
  });
  afterAll(async () => {
    await origin?.close();
    await other?.close();
    killStrayCaptures();
  });

  it("changes live traffic as mitmproxy's rules do: request headers upstream, responses to the client, local answers", async () => {
    const site = join(dir, "site");
    mkdirSync(site, { recursive: true });
    writeFileSync(join(site, "local.json"), '{"from":"disk"}');
    const out = join(dir, "live.mitm");
    const cap = await startCapture([
      "-w", out, "--confdir", join(dir, "conf"), "-q",
      "--modify-headers", "/~q/X-Live/yes",
      "--modify-headers", "/~s/Server/",
      "--modify-body", "/~s/origin/ORIGIN",
      "--map-local", `|/static/|${site}`,
      "--map-remote", `|/elsewhere|:${origin.port}/elsewhere|:${other.port}/moved`,
    ]);
    try {
      const url = (p: string): string => `http://127.0.0.1:${origin.port}${p}`;
      const plain = await viaProxy(cap.port, url("/plain"));
      expect(plain.body.toString()).toBe("ORIGIN saw /plain");
      expect(seenByOrigin["/plain"], "the request header went upstream").toBe("yes");
      expect(plain.headers.map((h) => h.toLowerCase())).not.toContain("server");
      const local = await viaProxy(cap.port, url("/static/local.json"));
      expect(local.body.toString()).toBe('{"from":"disk"}');
      expect(Object.keys(seenByOrigin), "the origin was never asked").not.toContain("/static/local.json");
      const moved = await viaProxy(cap.port, url("/elsewhere"));
      expect(moved.body.toString(), "map-remote sent the request to the other origin").toBe("other saw /moved");
      const recorded = await waitForHttpFlow(out, "/static/local.json");
      expect(recorded.response!.headers.get("content-type")).toBe("application/json");
    } finally {
      await cap.stop();
    }
  });
});
