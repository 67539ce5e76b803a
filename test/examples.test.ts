/** Every script in examples/ runs on the sample capture and does what its comment says. */
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readFlows, type HTTPFlow } from "../src/index.js";
import { fixtures, projectRoot, reflow } from "./helpers.js";

const sample = join(fixtures, "sample.mitm");
const dir = mkdtempSync(join(tmpdir(), "reflow-examples-"));

async function flowsOf(path: string): Promise<HTTPFlow[]> {
  const out: HTTPFlow[] = [];
  for await (const f of readFlows(path)) out.push(f as HTTPFlow);
  return out;
}

function runExample(spec: string, extra: string[] = []): string {
  const out = join(dir, `${spec.split(/[ /]/)[1]}.mitm`);
  const r = reflow(["run", "-r", sample, "-s", spec, "-w", out, ...extra]);
  expect(r.status, r.stderr.toString()).toBe(0);
  return out;
}

describe("examples/", () => {
  it("add-header.ts adds newheader: foo to every response", async () => {
    const flows = await flowsOf(runExample("examples/add-header.ts"));
    expect(flows).toHaveLength(7);
    for (const f of flows) if (f.response) expect(f.response.headers.get("newheader")).toBe("foo");
  });

  it("replace.ts OLD NEW replaces text in decoded bodies, re-encoding gzip and fixing Content-Length", async () => {
    const before = await flowsOf(sample);
    const after = await flowsOf(runExample("examples/replace.ts compressed decompressed"));
    const gz = after.find((f) => f.request.path === "/gzip")!;
    expect(gz.response!.headers.get("content-encoding")).toBe("gzip");
    expect(gz.response!.text).toBe("hello decompressed world\n".repeat(20));
    expect(Number(gz.response!.headers.get("content-length"))).toBe(gz.response!.rawContent!.length);
    // flows without the word are untouched
    const root = (fs: HTTPFlow[]): string => fs.find((f) => f.request.path === "/")!.response!.text!;
    expect(root(after)).toBe(root(before));
  });

  it("replace.ts without its arguments fails in start with a usage message, before any output", () => {
    const r = reflow(["run", "-r", sample, "-s", "examples/replace.ts", "-w", join(dir, "noargs.mitm")]);
    expect(r.status).toBe(2);
    expect(existsSync(join(dir, "noargs.mitm"))).toBe(false);
    expect(r.stderr.toString()).toContain("usage: -s 'replace.ts OLD NEW'");
  });

  it("slow-lookup.ts comments every flow, with concurrent lookups", async () => {
    const flows = await flowsOf(runExample("examples/slow-lookup.ts", ["--concurrency", "8"]));
    expect(flows.map((f) => f.comment)).toEqual(flows.map((f) => `looked up ${f.request.host}`));
    expect(flows.map((f) => f.id)).toEqual((await flowsOf(sample)).map((f) => f.id));
  });

  it("redact.ts removes credentials and keeps the shape of the traffic", async () => {
    const out = runExample("examples/redact.ts");
    const flows = await flowsOf(out);
    const api = flows.find((f) => f.request.path.startsWith("/api/items?"))!;
    expect(api.request.headers.get("authorization")).toBe("Bearer REDACTED");
    expect(api.request.query.get("token")).toBe("REDACTED");
    expect(api.request.query.get("page")).toBe("2");
    expect(api.response!.headers.get("set-cookie")).toBe("session=REDACTED; Path=/; HttpOnly");
    const login = flows.find((f) => f.request.path === "/login")!;
    expect(login.request.headers.get("cookie")).toBe("session=REDACTED; theme=REDACTED");
    const raw = readFileSync(out).toString("latin1");
    for (const secret of ["abc.def.ghi", "abc123", "token=xyz"]) expect(raw).not.toContain(secret);
  });

  it("add_header.py is the same job for mitmdump (used by the interop test and the benchmark)", () => {
    expect(readFileSync(join(projectRoot, "examples", "add_header.py"), "utf8")).toContain('headers["newheader"] = "foo"');
  });
});
