import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decode, spanAt, type TDict, type TValue } from "../../src/format/tnetstring.js";
import { cliPath, fixtures, projectRoot, reflow, reflowAsync, stderrLine, testdata, flowDicts, rawFlows } from "../helpers.js";
import { BROKEN, CONCURRENT, KILL_AND_DUPLICATE, LIBRARY_CLASSES, RECORDER, REPLAY, SLOW, THROWS } from "./run-scripts.js";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "reflow-run-"));
});

function script(name: string, source: string): string {
  const p = join(dir, name);
  writeFileSync(p, source);
  return p;
}


const get = (d: TValue | undefined, key: string): TValue | undefined => (d instanceof Map ? d.get(key) : undefined);
const sample = join(fixtures, "sample.mitm");

/** The events spec §3 says a saved flow gets, worked out from its raw state. */
function expectedEvents(flow: TDict): [string, string][] {
  const id = String(flow.get("id"));
  const out: [string, string][] = [];
  const type = flow.get("type");
  if (type === "http") {
    out.push(["request", id]);
    if (flow.get("response")) out.push(["responseheaders", id], ["response", id]);
    const ws = flow.get("websocket");
    for (const _ of (get(ws, "messages") as TValue[] | undefined) ?? []) out.push(["websocket_message", id]);
  } else if (type === "tcp" || type === "udp") {
    for (const _ of flow.get("messages") as TValue[]) out.push([`${type}_message`, id]);
  } else if (type === "dns") {
    out.push(["dns_request", id]);
    if (flow.get("response")) out.push(["dns_response", id]);
  }
  if (flow.get("error")) out.push(["error", id]);
  return out;
}

describe("reflow run: events over saved flows (spec §3)", () => {
  it("fires the saved-flow sequence for every kind of flow, script by script, in file order", () => {
    const inputs = [
      join(testdata, "captures", "tflow-v17.mitm"), // response, error, websocket, tcp, tcp+error, dns, backup
      join(testdata, "captures", "real-v17-incomplete-body.mitm"), // response and error
      join(testdata, "mitmproxy-tests", "flows", "incomplete_log.mitm"), // request only
      join(testdata, "captures", "tflow-v21.mitm"), // udp
    ];
    const rec = script("recorder.ts", RECORDER);
    const log = join(dir, "events.jsonl");
    const r = reflow(["run", "-r", ...inputs, "-s", `${rec} A ${log}`, "-s", `${rec} B ${log}`, "-w", join(dir, "ev.mitm")]);
    expect(r.status, r.stderr.toString()).toBe(0);
    const got = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const flows = inputs.flatMap((f) => flowDicts(readFileSync(f)));
    const kinds = new Set(flows.map((f) => String(f.get("type"))));
    expect(kinds).toEqual(new Set(["http", "tcp", "udp", "dns"]));
    // every script gets each event before the next event fires
    const expected = [
      ["A", "start", null],
      ["B", "start", null],
      ...flows.flatMap(expectedEvents).flatMap(([e, id]) => [["A", e, id], ["B", e, id]]),
      ["A", "done", null],
      ["B", "done", null],
    ];
    expect(got.map((g) => [g.script, g.event, g.id])).toEqual(expected);
    expect(got[0].extra).toEqual([rec, "A", log]); // argv as split from the spec
    // the file holds each kind this test promises
    const events = new Set(got.map((g) => g.event));
    for (const e of ["request", "responseheaders", "response", "error", "websocket_message", "tcp_message", "udp_message", "dns_request"])
      expect(events, e).toContain(e);
  });

  it("writes every flow once, in input order, incomplete ones in place", () => {
    const inputs = [join(testdata, "mitmproxy-tests", "flows", "incomplete_log.mitm"), sample];
    const out = join(dir, "order.mitm");
    const r = reflow(["run", "-r", ...inputs, "-s", script("rec2.ts", RECORDER) + ` A ${join(dir, "e2.jsonl")}`, "-w", out, "--flow-version", "21"]);
    expect(r.status).toBe(0);
    const ids = (f: string): string[] => flowDicts(readFileSync(f)).map((d) => String(d.get("id")));
    expect(ids(out)).toEqual(inputs.flatMap(ids));
  });
});

describe("reflow run: the script context", () => {
  it("killFlow drops a flow; duplicateFlow writes the copy right after the original", () => {
    const out = join(dir, "kd.mitm");
    const s = script("kd.ts", KILL_AND_DUPLICATE);
    const r = reflow(["run", "-r", sample, "-s", `${s} /missing /login`, "-w", out]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(r.stderr.toString()).toContain("7 flows read, 7 written, 1 killed, 1 duplicated");
    const before = flowDicts(readFileSync(sample));
    const after = flowDicts(readFileSync(out));
    const path = (d: TDict): string => (get(d.get("request"), "path") as Buffer).toString();
    expect(after.map(path)).toEqual(["/", "/api/items?page=2&token=xyz", "/gzip", "/login", "/login", "/api/items", "/refused"]);
    const [orig, copy] = [after[3]!, after[4]!];
    expect(orig.get("id")).toBe(before[3]!.get("id"));
    expect(copy.get("id")).not.toBe(orig.get("id"));
    expect(copy.get("comment")).toBe("the copy");
    // the copy was made in request, before response added a header to the original
    const hdr = (d: TDict): string[] =>
      ((get(d.get("response"), "headers") as Buffer[][]) ?? []).map(([n]) => n!.toString()).filter((n) => n === "x-seen");
    expect(hdr(orig)).toEqual(["x-seen"]);
    expect(hdr(copy)).toEqual([]);
  });

  describe("replayRequest", () => {
    let server: Server;
    let port = 0;
    beforeAll(async () => {
      server = createServer((req, res) => {
        res.setHeader("X-Replayed-Path", req.url ?? "");
        res.end(`fresh answer to ${req.method} ${req.url}`);
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      port = (server.address() as { port: number }).port;
    });
    afterAll(() => new Promise<void>((r) => server.close(() => r())));

    it("sends the request again and sets the new response", async () => {
      const out = join(dir, "replay.mitm");
      const r = await reflowAsync(["run", "-r", sample, "-s", `${script("replay.ts", REPLAY)} 127.0.0.1:${port}`, "-w", out, "--flow-version", "21"]);
      expect(r.status, r.stderr.toString()).toBe(0);
      for (const flow of flowDicts(readFileSync(out))) {
        const resp = flow.get("response") as TDict;
        const path = (get(flow.get("request"), "path") as Buffer).toString();
        const method = (get(flow.get("request"), "method") as Buffer).toString();
        expect(flow.get("is_replay")).toBe("request");
        expect(resp.get("status_code")).toBe(200);
        expect((resp.get("content") as Buffer).toString()).toBe(`fresh answer to ${method} ${path}`);
        const headers = (resp.get("headers") as Buffer[][]).map(([n, v]) => `${n}: ${v}`);
        expect(headers).toContain(`X-Replayed-Path: ${path}`); // header case kept as sent
      }
    });
  });

  it("concurrent hooks overlap, and the output keeps input order", () => {
    const log = join(dir, "conc.jsonl");
    const out = join(dir, "conc.mitm");
    const r = reflow(["run", "-r", sample, sample, "-s", `${script("conc.ts", CONCURRENT)} ${log}`, "-w", out, "--concurrency", "4"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    const seen = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(Math.max(...seen.map((s) => s.inFlight))).toBeGreaterThan(1); // observed overlap
    expect(Math.max(...seen.map((s) => s.inFlight))).toBeLessThanOrEqual(4);
    const inIds = [...flowDicts(readFileSync(sample)), ...flowDicts(readFileSync(sample))].map((d) => d.get("id"));
    const outFlows = flowDicts(readFileSync(out));
    expect(outFlows.map((d) => d.get("id"))).toEqual(inIds);
    // each flow's own events kept their order: response saw what request wrote
    for (const f of outFlows) {
      const resp = f.get("response") as TDict | null;
      if (!resp) continue;
      const after = (resp.get("headers") as Buffer[][]).find(([n]) => n!.toString() === "x-after");
      expect(after?.[1]?.toString()).toBe("looked at");
    }
  });
});

describe("reflow run: output safety", () => {
  it("with no script, writes the input byte for byte", () => {
    const out = join(dir, "ident.mitm");
    expect(reflow(["run", "-r", sample, "-w", out, "-q"]).status).toBe(0);
    expect(readFileSync(out).equals(readFileSync(sample))).toBe(true);
  });

  it("rewrites a file in place (-r X -w X)", () => {
    const f = join(dir, "inplace.mitm");
    copyFileSync(sample, f);
    const r = reflow(["run", "-r", f, "-s", join("examples", "add-header.ts"), "-w", f, "-q"]);
    expect(r.status).toBe(0);
    const flows = flowDicts(readFileSync(f));
    expect(flows).toHaveLength(7);
    expect(flows.filter((d) => d.get("response")).every((d) => (get(d.get("response"), "headers") as Buffer[][]).some(([n]) => n!.toString() === "newheader"))).toBe(true);
  });

  it("refuses to append to a file that is also an input (-r X -a X)", () => {
    const f = join(dir, "app.mitm");
    copyFileSync(sample, f);
    const r = reflow(["run", "-r", f, "-a", f]);
    expect(r.status).toBe(2);
    expect(r.stderr.toString()).toContain("also an input");
    expect(readFileSync(f).equals(readFileSync(sample))).toBe(true);
  });

  it("appends with -a", () => {
    const f = join(dir, "app2.mitm");
    copyFileSync(sample, f);
    expect(reflow(["run", "-r", sample, "-a", f, "-q"]).status).toBe(0);
    expect(readFileSync(f).equals(Buffer.concat([readFileSync(sample), readFileSync(sample)]))).toBe(true);
  });

  it("leaves the previous output untouched when killed with SIGKILL mid-run", async () => {
    const out = join(dir, "survivor.mitm");
    writeFileSync(out, "previous content");
    const child = spawn(process.execPath, [cliPath, "run", "-r", sample, "-s", script("slow.ts", SLOW), "-w", out, "-v"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    await stderrLine(child, /\[info\] .*slow\.ts: request/); // a flow is in
    expect(readdirSync(dir).some((n) => n.startsWith(".survivor.mitm.") && n.endsWith(".tmp")), "the temp file").toBe(true);
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(readFileSync(out, "utf8")).toBe("previous content");
  });

  it("writes one output per input into a directory", () => {
    const outDir = join(dir, "per-input") + "/";
    const a = join(testdata, "captures", "real-v17.mitm");
    const r = reflow(["run", "-r", sample, a, "-w", outDir, "-q"]);
    expect(r.status).toBe(0);
    // each at its path below the inputs' deepest common folder (the one holding project and testdata)
    const base = join(projectRoot, "..");
    expect(readFileSync(join(outDir, relative(base, a))).equals(readFileSync(a))).toBe(true);
    expect(readFileSync(join(outDir, relative(base, sample))).equals(readFileSync(sample))).toBe(true);
  });

  it("--shard K/N splits the inputs deterministically, whatever their order", () => {
    const files = [sample, join(testdata, "captures", "real-v17.mitm"), join(testdata, "captures", "tflow-v17.mitm")];
    const count = (k: string, inputs: string[]): number => {
      const r = reflow(["run", "-r", ...inputs, "--shard", k, "-w", join(dir, `shard-${k.replace("/", "-")}.mitm`)]);
      expect(r.status).toBe(0);
      return Number(/(\d+) flows read/.exec(r.stderr.toString())![1]);
    };
    expect(count("1/2", files) + count("2/2", files)).toBe(7 + 15 + 7);
    expect(count("1/2", [...files].reverse())).toBe(count("1/2", files));
    expect(reflow(["run", "-r", sample, "--shard", "3/2"]).status).toBe(2);
  });
});

describe("reflow run: script errors", () => {
  it("reports a throwing hook with the script's stack and the flow id, keeps going, exits 1", () => {
    const s = script("throws.ts", THROWS);
    const out = join(dir, "thrown.mitm");
    const r = reflow(["run", "-r", sample, "-s", `${s} /missing`, "-w", out]);
    expect(r.status).toBe(1);
    const err = r.stderr.toString();
    const missing = flowDicts(readFileSync(sample)).find((d) => (get(d.get("request"), "path") as Buffer).toString() === "/missing")!;
    expect(err).toContain(`flow ${missing.get("id")}`);
    expect(err).toContain("boom on /missing");
    expect(err).toMatch(new RegExp(`${s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}:\\d+:\\d+`)); // file:line of the .ts
    expect(err).toContain("1 script errors");
    expect(flowDicts(readFileSync(out))).toHaveLength(7); // the flow is still written
  });

  it("hands scripts flows of the classes that importing reflow gives them", () => {
    const copy = join(dir, "library-copy.mitm");
    const r = reflow(["run", "-r", sample, "-s", `${script("library.ts", LIBRARY_CLASSES)} ${copy}`, "-w", join(dir, "lib-out.mitm")]);
    expect(r.stderr.toString()).not.toContain("Error");
    expect(r.status).toBe(0);
    expect(flowDicts(readFileSync(copy)).map((d) => d.get("id"))).toEqual(
      flowDicts(readFileSync(sample)).filter((d) => d.get("type") === "http").map((d) => d.get("id")),
    );
  });

  it("stops before any output when a script fails to load (exit 2)", () => {
    const out = join(dir, "never.mitm");
    for (const spec of [script("broken.ts", BROKEN), join(dir, "missing.ts")]) {
      const r = reflow(["run", "-r", sample, "-s", spec, "-w", out]);
      expect(r.status).toBe(2);
      expect(existsSync(out)).toBe(false);
    }
  });

  it("splits script specs like a shell: a path with spaces in inner quotes", () => {
    const spaced = join(dir, "my scripts");
    mkdirSync(spaced, { recursive: true });
    const rec = join(spaced, "rec.ts");
    writeFileSync(rec, RECORDER);
    const log = join(dir, "spaced.jsonl");
    const r = reflow(["run", "-r", sample, "-s", `'${rec}' "two words" ${log}`]);
    expect(r.status, r.stderr.toString()).toBe(0);
    const first = JSON.parse(readFileSync(log, "utf8").split("\n")[0]!);
    expect(first.extra).toEqual([rec, "two words", log]);
  });
});

describe("reflow run: the positional filter", () => {
  const paths = (f: string): string[] => flowDicts(readFileSync(f)).map((d) => (get(d.get("request"), "path") as Buffer).toString());

  const method = (d: TDict): string => String(get(d.get("request"), "method") ?? "");
  /** What a run with --keep-unmatched must write: matching flows marked by the script, the others byte for byte. */
  const expectKeptInPlace = (inputs: string[], out: string, matches: (d: TDict) => boolean): void => {
    const before = inputs.flatMap((f) => rawFlows(readFileSync(f)));
    const after = rawFlows(readFileSync(out));
    expect(after.length, "every flow written once").toBe(before.length);
    for (let i = 0; i < before.length; i++) {
      const was = decode(before[i]!) as TDict;
      const is = decode(after[i]!) as TDict;
      expect(String(is.get("id")), `flow #${i} in input order`).toBe(String(was.get("id")));
      if (matches(was)) expect(String(is.get("comment")), `flow #${i} matched: marked by the script`).toBe("looked at");
      else expect(after[i]!.equals(before[i]!), `flow #${i} unmatched: written as read`).toBe(true);
    }
  };

  it("drops flows it does not match; they fire no events", () => {
    const out = join(dir, "filtered.mitm");
    const log = join(dir, "filtered.jsonl");
    const r = reflow(["run", "-r", sample, "~m POST", "-s", `${script("recf.ts", RECORDER)} A ${log}`, "-w", out]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(paths(out)).toEqual(["/login", "/api/items"]);
    expect(r.stderr.toString()).toContain("7 flows read, 2 written, 5 filtered out");
    const ids = flowDicts(readFileSync(out)).map((d) => String(d.get("id")));
    const events = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const requests = events.filter((e) => e.event === "request").map((e) => e.id);
    expect(requests, "the script saw the matching flows only, once each, in order").toEqual(ids);
    expect(events.filter((e) => e.id !== null).every((e) => ids.includes(e.id))).toBe(true);
  });

  it("judges each flow as saved: the scripts' changes do not pick what is written, a matching flow's copies are", () => {
    const marker = script("mark.ts", KILL_AND_DUPLICATE); // the copy of /login gets the comment "the copy"
    const none = join(dir, "judged-none.mitm");
    const r = reflow(["run", "-r", sample, "-s", `${marker} /nothing-killed /login`, "-w", none, "~comment", "copy"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(flowDicts(readFileSync(none)), "no saved flow has the comment the script gives").toEqual([]);
    const login = join(dir, "judged-login.mitm");
    expect(reflow(["run", "-r", sample, "-s", `${marker} /nothing-killed /login`, "-w", login, "~u", "/login", "-q"]).status).toBe(0);
    const written = flowDicts(readFileSync(login));
    expect(paths(login)).toEqual(["/login", "/login"]);
    expect(written.map((d) => String(d.get("comment")))).toEqual(["", "the copy"]);
  });

  it("with --keep-unmatched passes the others through unchanged, in place, even with concurrent hooks", () => {
    const out = join(dir, "kept.mitm");
    const log = join(dir, "kept.jsonl");
    const r = reflow(["run", "-r", sample, "-s", `${script("conc2.ts", CONCURRENT)} ${log}`, "--keep-unmatched", "-w", out, "~m POST"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(paths(out)).toEqual(paths(sample));
    expect(r.stderr.toString()).toContain("7 flows read, 7 written, 5 unmatched kept");
    const posts = flowDicts(readFileSync(sample)).filter((d) => method(d) === "POST").map((d) => String(d.get("id")));
    const seen = readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l).id);
    expect(seen.sort(), "the script saw the POST flows only").toEqual(posts.sort());
    expectKeptInPlace([sample], out, (d) => method(d) === "POST");
  });

  it("with --keep-unmatched and --jobs 2 writes what one thread writes", () => {
    const inputs = [sample, join(testdata, "captures", "real-v17.mitm")];
    const filter = ["~m", "POST", "|", "~c", "404"];
    const matches = (d: TDict): boolean => method(d) === "POST" || get(d.get("response"), "status_code") === 404;
    const log = join(dir, "kept-jobs.jsonl");
    const conc = `${script("conc3.ts", CONCURRENT)} ${log}`;
    const two = join(dir, "kept-jobs2.mitm");
    const r = reflow(["run", "-r", ...inputs, "-s", conc, "--keep-unmatched", "-w", two, "-j", "2", ...filter]);
    expect(r.status, r.stderr.toString()).toBe(0);
    const matching = inputs.flatMap((f) => flowDicts(readFileSync(f))).filter(matches);
    expect(matching.length, "matching flows in both inputs").toBeGreaterThan(2);
    expect(readFileSync(log, "utf8").trim().split("\n"), "the scripts saw the matching flows only").toHaveLength(matching.length);
    expectKeptInPlace(inputs, two, matches);
    const one = join(dir, "kept-jobs1.mitm");
    expect(reflow(["run", "-r", ...inputs, "-s", conc, "--keep-unmatched", "-w", one, "-q", ...filter]).status).toBe(0);
    expect(readFileSync(two).equals(readFileSync(one)), "-j 2 output identical to one thread's").toBe(true);
  });

  it("reports a malformed filter as a usage error with a caret, before writing anything", () => {
    const out = join(dir, "badfilter.mitm");
    const r = reflow(["run", "-r", sample, "-w", out, "~m (POST"]);
    expect(r.status).toBe(2);
    expect(r.stderr.toString()).toContain("^");
    expect(existsSync(out)).toBe(false);
  });
});

describe("reflow run --jobs", () => {
  const inputs = [
    sample,
    join(testdata, "captures", "real-v17.mitm"),
    join(testdata, "captures", "tflow-v17.mitm"),
    join(testdata, "mitmproxy-tests", "flows", "diff_data.mitm"),
  ];

  it("gives the same single output as one thread, in input order", () => {
    const one = join(dir, "jobs1.mitm");
    const two = join(dir, "jobs2.mitm");
    const addHeader = join("examples", "add-header.ts");
    expect(reflow(["run", "-r", ...inputs, "-s", addHeader, "-w", one, "-q"]).status).toBe(0);
    const r = reflow(["run", "-r", ...inputs, "-s", addHeader, "-w", two, "-j", "3"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(r.stderr.toString()).toContain("36 flows read, 36 written");
    expect(readFileSync(two).equals(readFileSync(one))).toBe(true);
    expect(readdirSync(dir).filter((n) => n.startsWith(".reflow-parts-"))).toEqual([]);
  });

  it("writes per-input outputs from the workers", () => {
    const outDir = join(dir, "jobs-dir") + "/";
    expect(reflow(["run", "-r", ...inputs.slice(0, 2), "-w", outDir, "-j", "2", "-q"]).status).toBe(0);
    expect(readFileSync(join(outDir, relative(join(projectRoot, ".."), sample))).equals(readFileSync(sample))).toBe(true);
  });

  it("stops with exit 2 when a worker cannot load the scripts, leaving no output", () => {
    const out = join(dir, "jobs-broken.mitm");
    const r = reflow(["run", "-r", ...inputs, "-s", script("broken2.ts", BROKEN), "-w", out, "-j", "2"]);
    expect(r.status).toBe(2);
    expect(existsSync(out)).toBe(false);
  });
});
