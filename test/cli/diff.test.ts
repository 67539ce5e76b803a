/**
 * `reflow diff` end to end: the built CLI on the sample capture, its conversions and
 * rewrites, and on two captures of the same requests recorded live by mitmdump at
 * different times.
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fixtures, hasMitmdump, reflow, testdata } from "../helpers.js";
import { recordWithMitmdump, startOrigin } from "./diff-recording.js";

const sample = join(fixtures, "sample.mitm");
const dir = mkdtempSync(join(tmpdir(), "reflow-diff-"));
const out = (r: ReturnType<typeof reflow>): string => r.stdout.toString();
const err = (r: ReturnType<typeof reflow>): string => r.stderr.toString();

/** `reflow ARGS`, failing the test with stderr when it exits other than `status`. */
function ok(args: string[], status = 0): ReturnType<typeof reflow> {
  const r = reflow(args);
  expect(r.status, err(r)).toBe(status);
  return r;
}

const CHANGE_KINDS = new Set(["value", "header", "header-order", "json", "text", "body", "message"]);
const isJsonValue = (v: unknown): boolean => v === null || ["string", "number", "boolean", "object"].includes(typeof v);
const isBodySummary = (v: unknown): boolean =>
  v === null ||
  (typeof v === "object" &&
    typeof (v as { size: unknown }).size === "number" &&
    /^[0-9a-f]{64}$/.test((v as { sha256: string }).sha256));

/** Checks a `--json` document against the shape docs/diff-json.md documents; returns the problems. */
function shapeProblems(doc: any): string[] {
  const problems: string[] = [];
  const need = (cond: boolean, what: string): void => {
    if (!cond) problems.push(what);
  };
  need(["id", "request", "order"].includes(doc.by), "by");
  need(Array.isArray(doc.ignore) && Array.isArray(doc.ignore_headers), "ignore lists");
  for (const k of ["same", "changed", "added", "removed"]) need(Number.isInteger(doc.summary?.[k]), `summary.${k}`);
  need(Array.isArray(doc.flows), "flows");
  for (const [i, f] of (doc.flows ?? []).entries()) {
    need(["changed", "added", "removed"].includes(f.status), `flows[${i}].status`);
    need(f.a === null || typeof f.a === "string", `flows[${i}].a`);
    need(f.b === null || typeof f.b === "string", `flows[${i}].b`);
    need(f.status !== "added" || (f.a === null && typeof f.b === "string"), `flows[${i}] added has only b`);
    need(f.status !== "removed" || (f.b === null && typeof f.a === "string"), `flows[${i}] removed has only a`);
    need(typeof f.title === "string", `flows[${i}].title`);
    need(Array.isArray(f.changes) && (f.status !== "changed" || f.changes.length > 0), `flows[${i}].changes`);
    for (const [j, c] of (f.changes ?? []).entries()) {
      const at = `flows[${i}].changes[${j}]`;
      need(typeof c.field === "string" && CHANGE_KINDS.has(c.kind), `${at} field/kind`);
      if (c.kind === "header")
        need(typeof c.name === "string" && Array.isArray(c.a) && Array.isArray(c.b), `${at} header`);
      if (c.kind === "json")
        need(typeof c.path === "string" && c.path.startsWith("$") && ("a" in c || "b" in c), `${at} json`);
      if (c.kind === "value") need(("a" in c && isJsonValue(c.a)) || ("b" in c && isJsonValue(c.b)), `${at} value`);
      if (c.kind === "text")
        need(
          Array.isArray(c.hunks) && c.hunks.every((h: any) => Array.isArray(h.lines) && Number.isInteger(h.a_start)),
          `${at} text`,
        );
      if (c.kind === "body") need(isBodySummary(c.a) && isBodySummary(c.b), `${at} body`);
    }
  }
  return problems;
}

let rewritten: string;
beforeAll(() => {
  rewritten = join(dir, "add-header.mitm");
  ok(["run", "-r", sample, "-s", "examples/add-header.ts", "-w", rewritten, "-q"]);
});

describe("reflow diff: equal files", () => {
  it("finds no differences between a file and itself", () => {
    const r = ok(["diff", sample, sample]);
    expect(out(r)).toContain("no differences");
  });

  for (const version of ["21", "18", "20"]) {
    it(`finds no differences between a file and its conversion to version ${version}`, () => {
      const converted = join(dir, `sample-v${version}.mitm`);
      ok(["convert", sample, "-o", converted, "--flow-version", version, "-q"]);
      expect(out(ok(["diff", sample, converted]))).toContain("no differences");
      expect(out(ok(["diff", converted, sample, "--ignore", "none"]))).toContain("no differences");
    });
  }
});

describe("reflow diff: files of other versions and flow types against their conversion to 21", () => {
  const files = [
    "captures/real-v17.mitm", // HTTP, HTTPS, TCP, WebSocket, an error flow
    "captures/tflow-v21.mitm", // TCP, UDP, DNS
    "mitmproxy-tests/dumpfile-011.mitm", // migrated from 0.11
    "mitmproxy-tests/dumpfile-7-websocket.mitm", // pre-v12 WebSocket flows merged into their handshakes
  ];
  for (const file of files) {
    it(`finds no differences in ${file}`, () => {
      const converted = join(dir, "converted.mitm");
      ok(["convert", join(testdata, file), "-o", converted, "--flow-version", "21", "-q"]);
      expect(out(ok(["diff", join(testdata, file), converted]))).toMatch(/^no differences/);
    });
  }
});

describe("reflow diff: a capture against the add-header rewrite of it", () => {
  it("reports exactly the flows with a response, each with the one added header", () => {
    const r = ok(["diff", sample, rewritten], 1);
    const json = JSON.parse(out(ok(["diff", sample, rewritten, "--json"], 1)));
    expect(json.summary).toEqual({ same: 1, changed: 6, added: 0, removed: 0 });
    for (const flow of json.flows) {
      expect(flow.a).toBe(flow.b);
      expect(flow.changes).toEqual([
        { kind: "header", field: "response.headers", name: "newheader", a: [], b: ["foo"] },
      ]);
    }
    // the one flow without a response (an error flow) is the one not reported
    const show = JSON.parse(
      `[${out(ok(["show", sample, "--json"]))
        .trim()
        .split("\n")
        .join(",")}]`,
    );
    const withResponse = show.filter((f: any) => f.response).map((f: any) => f.id);
    expect(json.flows.map((f: any) => f.a)).toEqual(withResponse);
    const lines = out(r).trim().split("\n");
    expect(lines).toHaveLength(6 * 2 + 1);
    expect(lines.filter((l) => l.startsWith("~ "))).toHaveLength(6);
    expect(lines.filter((l) => l === "    response.headers: + newheader: foo")).toHaveLength(6);
    expect(lines.at(-1)).toBe("6 changed, 0 added, 0 removed, 1 same");
  });

  it("writes --json in the documented shape", () => {
    const doc = JSON.parse(out(ok(["diff", sample, rewritten, "--json"], 1)));
    expect(shapeProblems(doc)).toEqual([]);
    expect(doc.by).toBe("id");
    expect(doc.ignore).toEqual(["timestamps", "connections", "addresses", "mitmcert", "replay"]);
    const equal = JSON.parse(out(ok(["diff", sample, sample, "--json"])));
    expect(shapeProblems(equal)).toEqual([]);
    expect(equal).toMatchObject({ flows: [], summary: { same: 7, changed: 0, added: 0, removed: 0 } });
  });

  it("counts with --stat, as text and as JSON", () => {
    expect(out(ok(["diff", sample, rewritten, "--stat"], 1))).toBe(
      "6 changed, 0 added, 0 removed, 1 same\n  response.headers  6 flows\n",
    );
    expect(JSON.parse(out(ok(["diff", sample, rewritten, "--stat", "--json"], 1)))).toEqual({
      summary: { same: 1, changed: 6, added: 0, removed: 0 },
      fields: { "response.headers": 6 },
    });
    expect(out(ok(["diff", sample, sample, "--stat"]))).toBe("no differences (7 flows)\n");
  });

  it("leaves out an ignored header", () => {
    expect(out(ok(["diff", sample, rewritten, "--ignore-header", "NewHeader"]))).toContain("no differences");
  });

  it("compares only the flows a filter matches, on both sides", () => {
    const json = JSON.parse(out(ok(["diff", sample, rewritten, "--json", "~m", "POST"], 1)));
    expect(json.summary).toEqual({ same: 0, changed: 2, added: 0, removed: 0 });
    expect(json.flows.map((f: any) => f.title.split(" ")[0])).toEqual(["POST", "POST"]);
    expect(out(ok(["diff", sample, rewritten, "!~s"]))).toContain("no differences (1 flow)");
  });
});

describe("reflow diff: added and removed flows", () => {
  it("reports flows only in A as removed and only in B as added", () => {
    const fewer = join(dir, "no-posts.mitm");
    const dropPosts = join(dir, "drop-posts.mjs");
    writeFileSync(
      dropPosts,
      'export function request(ctx, flow) { if (flow.request.method === "POST") ctx.killFlow(flow); }\n',
    );
    ok(["run", "-r", sample, "-s", dropPosts, "-w", fewer, "-q"]);
    const doc = JSON.parse(out(ok(["diff", sample, fewer, "--json"], 1)));
    expect(doc.summary).toEqual({ same: 5, changed: 0, added: 0, removed: 2 });
    expect(doc.flows.map((f: any) => [f.status, f.b, f.title.split(" ")[0]])).toEqual([
      ["removed", null, "POST"],
      ["removed", null, "POST"],
    ]);
    const back = JSON.parse(out(ok(["diff", fewer, sample, "--json", "--by", "order"], 1)));
    expect(back.summary.added + back.summary.changed).toBeGreaterThan(0);
    const text = out(ok(["diff", fewer, sample], 1));
    expect(text).toMatch(/^\+ POST http:\/\/\S+\/login \(only in B\)$/m);
  });
});

describe("reflow diff: errors", () => {
  it("exits 2 on a missing input and on a bad option", () => {
    const missing = reflow(["diff", sample, join(dir, "nope.mitm")]);
    expect(missing.status).toBe(2);
    expect(err(missing)).toMatch(/nope\.mitm: no such file/);
    expect(reflow(["diff", sample, sample, "--ignore", "bogus"]).status).toBe(2);
    expect(reflow(["diff", sample, sample, "--by", "url"]).status).toBe(2);
    expect(reflow(["diff", sample]).status).toBe(2);
    expect(reflow(["diff", sample, sample, "~q ("]).status).toBe(2);
  });

  it("exits 3 on a truncated input, after reporting what it read", () => {
    const cut = join(dir, "cut.mitm");
    const bytes = readFileSync(sample);
    writeFileSync(cut, bytes.subarray(0, bytes.length - 100));
    const r = reflow(["diff", sample, cut]);
    expect(r.status).toBe(3);
    expect(err(r)).toMatch(/cut\.mitm: .*byte offset \d+, flow #6/);
  });
});

describe.skipIf(!hasMitmdump())(
  "reflow diff: two captures of the same requests made by mitmdump at different times",
  () => {
    const first = join(dir, "first.mitm");
    const second = join(dir, "second.mitm");
    let origin: Awaited<ReturnType<typeof startOrigin>>;

    beforeAll(async () => {
      const state = { price: 5, date: "Mon, 02 Nov 2026 10:00:00 GMT" };
      origin = await startOrigin(state);
      await recordWithMitmdump(first, origin.port);
      state.price = 6;
      state.date = "Tue, 03 Nov 2026 11:30:00 GMT";
      await recordWithMitmdump(second, origin.port);
    }, 60_000);

    afterAll(() => origin?.server.close());

    it("pairs nothing by id: every flow has a new id", () => {
      const doc = JSON.parse(out(ok(["diff", first, second, "--json"], 1)));
      expect(doc.summary).toEqual({ same: 0, changed: 0, added: 4, removed: 4 });
    });

    it("pairs by request and, leaving out Date, reports only the changed JSON field by its path", () => {
      const doc = JSON.parse(
        out(ok(["diff", first, second, "--by", "request", "--ignore-header", "date", "--json"], 1)),
      );
      expect(shapeProblems(doc)).toEqual([]);
      expect(doc.summary).toEqual({ same: 3, changed: 1, added: 0, removed: 0 });
      expect(doc.flows).toHaveLength(1);
      expect(doc.flows[0].title).toMatch(/^GET http:\/\/127\.0\.0\.1:\d+\/api\/items$/);
      expect(doc.flows[0].changes).toEqual([
        { kind: "json", field: "response.body", path: "$.items[1].price", a: 5, b: 6 },
      ]);
      const text = out(ok(["diff", first, second, "--by", "request", "--ignore-header", "date"], 1));
      expect(text).toContain("    response.body $.items[1].price: 5 → 6\n");
    });

    it("reports the new dates unless told to leave them out", () => {
      const doc = JSON.parse(out(ok(["diff", first, second, "--by", "request", "--json"], 1)));
      expect(doc.summary.changed).toBe(4);
      for (const flow of doc.flows)
        expect(flow.changes).toContainEqual({
          kind: "header",
          field: "response.headers",
          name: "Date",
          a: ["Mon, 02 Nov 2026 10:00:00 GMT"],
          b: ["Tue, 03 Nov 2026 11:30:00 GMT"],
        });
    });
  },
);
