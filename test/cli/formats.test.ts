/** Every readable format into every command, every writable format out of convert and run. */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  copyFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { harSchemaErrors } from "../io/formats/har-schema.js";
import { cliPath, fixtures, reflow, testdata } from "../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "reflow-formats-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const flowsDir = join(testdata, "mitmproxy-tests", "flows");
const harDir = join(testdata, "mitmproxy-tests", "har_files");
const sample = join(fixtures, "sample.mitm");
const tflow = join(testdata, "captures", "tflow-v21.mitm");
const out = (name: string) => join(dir, name);
const text = (b: Buffer) => b.toString("utf8");

function withoutCreator(har: any) {
  delete har.log.creator;
  return har;
}

describe("HAR export", () => {
  const mitm = readdirSync(flowsDir).filter((f) => f.endsWith(".mitm"));
  it.each(mitm)("%s exports to mitmproxy's golden HAR, valid HAR 1.2, .zhar compressed", (name) => {
    const golden = withoutCreator(JSON.parse(readFileSync(join(flowsDir, name.replace(/\.mitm$/, ".har")), "utf8")));
    const har = out(`${name}.har`);
    const r = reflow(["convert", join(flowsDir, name), "-o", har]);
    expect(r.status, text(r.stderr)).toBe(0);
    const written = readFileSync(har, "utf8");
    expect(written).not.toMatch(/\bNaN\b|\bInfinity\b/);
    const doc = JSON.parse(written);
    expect(harSchemaErrors(doc)).toEqual([]);
    expect(doc.log.creator.name).toBe("reflow");
    expect(withoutCreator(doc)).toEqual(golden);
    const zhar = out(`${name}.zhar`);
    expect(reflow(["convert", join(flowsDir, name), "-o", zhar]).status).toBe(0);
    expect(withoutCreator(JSON.parse(inflateSync(readFileSync(zhar)).toString("utf8")))).toEqual(golden);
  });

  it("leaves out TCP, UDP and DNS flows with a warning that counts them", () => {
    const r = reflow(["convert", tflow, "-o", out("tflow.har")]);
    expect(r.status, text(r.stderr)).toBe(0);
    expect(text(r.stderr)).toMatch(/1 tcp, 1 udp, 1 dns/);
    const doc = JSON.parse(readFileSync(out("tflow.har"), "utf8"));
    expect(harSchemaErrors(doc)).toEqual([]);
    const http = JSON.parse(text(reflow(["show", tflow, "--json"]).stdout.subarray(0)).split("\n")[0]!);
    expect(http.type).toBe("http");
    expect(doc.log.entries.length).toBe(
      text(reflow(["show", tflow, "--json", "~http"]).stdout)
        .trim()
        .split("\n").length,
    );
  });

  it("--to mitm writes mitm whatever the extension", () => {
    expect(reflow(["convert", sample, "-o", out("really-mitm.har"), "--to", "mitm"]).status).toBe(0);
    expect(readFileSync(out("really-mitm.har")).equals(readFileSync(sample))).toBe(true);
  });
});

describe("HAR import", () => {
  const hars = readdirSync(harDir).filter((f) => f.endsWith(".har"));
  it.each(hars)("%s converts, lists and round-trips through .zhar", (name) => {
    const mitm = out(`${name}.mitm`);
    const r = reflow(["convert", join(harDir, name), "-o", mitm]);
    expect(r.status, text(r.stderr)).toBe(0);
    const n = JSON.parse(readFileSync(join(harDir, name.replace(/\.har$/, ".json")), "utf8")).length;
    expect(
      text(reflow(["show", mitm, "--json"]).stdout)
        .trim()
        .split("\n").length,
    ).toBe(n);
    // .zhar, which mitmproxy writes but cannot read: out and back in
    const zhar = out(`${name}.zhar`);
    expect(reflow(["convert", mitm, "-o", zhar]).status).toBe(0);
    const again = reflow(["show", zhar, "--json"]);
    expect(again.status, text(again.stderr)).toBe(0);
    expect(text(again.stdout).trim().split("\n").length).toBe(n);
  });

  it("reads the same entry as the same flow each time (diff pairs HAR flows by id)", () => {
    const har = join(harDir, "chrome.har");
    expect(reflow(["diff", har, har]).status).toBe(0);
    const a = text(reflow(["show", har, "--json"]).stdout);
    expect(text(reflow(["show", har, "--json"]).stdout)).toBe(a);
  });

  it("a broken HAR is one line naming the file, exit 3", () => {
    const broken = join(testdata, "mitmproxy-tests", "corrupted_har", "brokenfile.har");
    const r = reflow(["convert", broken, "-o", out("broken.mitm")]);
    expect(r.status).toBe(3);
    expect(
      text(r.stderr)
        .trim()
        .split("\n")
        .filter((l) => l.includes("brokenfile.har")).length,
    ).toBe(1);
  });

  it("a HAR broken in its third entry keeps the two before it and names the entry", () => {
    const har = JSON.parse(readFileSync(join(harDir, "chrome.har"), "utf8"));
    const entries = har.log.entries.map((e: unknown) => JSON.stringify(e));
    const damaged = `{"log": {"version": "1.2", "entries": [${entries[0]}, ${entries[1]}, ${entries[2].slice(0, 200)}`;
    writeFileSync(out("cut.har"), damaged);
    const r = reflow(["convert", out("cut.har"), "-o", out("cut.mitm")]);
    expect(r.status).toBe(3);
    expect(text(r.stderr)).toMatch(/cut\.har.*flow #2/);
    expect(
      text(reflow(["show", out("cut.mitm"), "--json"]).stdout)
        .trim()
        .split("\n").length,
    ).toBe(2);
    // an entry that is not a request: named, the ones before kept
    const wrong = `{"log": {"version": "1.2", "entries": [${entries[0]}, {"request": 1}]}}`;
    writeFileSync(out("wrong.har"), wrong);
    const w = reflow(["convert", out("wrong.har"), "-o", out("wrong.mitm")]);
    expect(w.status).toBe(3);
    expect(text(w.stderr)).toMatch(/wrong\.har.*flow #1/);
    expect(
      text(reflow(["show", out("wrong.mitm"), "--json"]).stdout)
        .trim()
        .split("\n").length,
    ).toBe(1);
  });
});

describe("msgpack", () => {
  it("round-trips, appends, and a cut file exits 3 with its whole flows written", () => {
    const packed = out("sample.msgpack");
    expect(reflow(["convert", sample, "-o", packed]).status).toBe(0);
    expect(reflow(["diff", sample, packed]).status).toBe(0);
    expect(reflow(["run", "-r", sample, "-a", packed, "-q"]).status).toBe(0);
    const n = text(reflow(["show", sample, "--json"]).stdout)
      .trim()
      .split("\n").length;
    expect(
      text(reflow(["show", packed, "--json"]).stdout)
        .trim()
        .split("\n").length,
    ).toBe(2 * n);
    const cut = out("cut.msgpack");
    copyFileSync(packed, cut);
    truncateSync(cut, statSync(packed).size - 5);
    const r = reflow(["convert", cut, "-o", out("cut-back.mitm")]);
    expect(r.status).toBe(3);
    expect(
      text(reflow(["show", out("cut-back.mitm"), "--json"]).stdout)
        .trim()
        .split("\n").length,
    ).toBe(2 * n - 1);
  });
});

describe("every command takes any readable format, mixed", () => {
  it("show, diff, run and convert over mitm, msgpack, HAR and JSON Lines at once", () => {
    const packed = out("mixed.msgpack");
    const jsonl = out("mixed.jsonl");
    const har = join(harDir, "firefox.har");
    expect(reflow(["convert", sample, "-o", packed]).status).toBe(0);
    expect(reflow(["convert", sample, "-o", jsonl]).status).toBe(0);
    const shown = reflow(["show", sample, packed, jsonl, har, "--json"]);
    expect(shown.status, text(shown.stderr)).toBe(0);
    const n = text(reflow(["show", sample, "--json"]).stdout)
      .trim()
      .split("\n").length;
    const h = JSON.parse(readFileSync(join(harDir, "firefox.json"), "utf8")).length;
    expect(text(shown.stdout).trim().split("\n").length).toBe(3 * n + h);
    expect(reflow(["diff", packed, jsonl]).status).toBe(0);
    const run = reflow(["run", "-q", "-r", packed, har, "-s", "examples/add-header.ts", "-w", out("run.jsonl")]);
    expect(run.status, text(run.stderr)).toBe(0);
    const lines = text(readFileSync(out("run.jsonl")))
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.length).toBe(n + h);
    expect(lines.filter((f) => f.response?.headers.some(([k]: [string]) => k === "newheader")).length).toBeGreaterThan(
      0,
    );
    const conv = reflow(["convert", sample, packed, jsonl, har, "-o", out("all.msgpack")]);
    expect(conv.status, text(conv.stderr)).toBe(0);
    expect(
      text(reflow(["show", out("all.msgpack"), "--json"]).stdout)
        .trim()
        .split("\n").length,
    ).toBe(3 * n + h);
  });
});

const hasJq = spawnSync("jq", ["--version"]).status === 0;

describe("JSON Lines back in", () => {
  it.skipIf(!hasJq && !process.env.CI)("edits a capture through jq; an untouched round trip diffs equal", () => {
    for (const file of [sample, tflow, join(flowsDir, "websocket.mitm"), join(flowsDir, "diff_data.mitm")]) {
      const shown = reflow(["show", file, "--json"]);
      const jq = spawnSync("jq", ["-c", "."], { input: shown.stdout });
      expect(jq.status).toBe(0);
      const back = out("back.mitm");
      const r = reflow(["convert", "-", "-o", back], { input: jq.stdout });
      expect(r.status, text(r.stderr)).toBe(0);
      const d = reflow(["diff", file, back]);
      expect(d.status, `${file}: ${text(d.stdout)}`).toBe(0);
    }
    const edited = spawnSync("jq", ["-c", 'select(.type == "http") | .request.headers += [["x-edited", "yes"]]'], {
      input: reflow(["show", sample, "--json"]).stdout,
    });
    const r = reflow(["convert", "-", "-o", out("edited.mitm")], { input: edited.stdout });
    expect(r.status, text(r.stderr)).toBe(0);
    expect(text(reflow(["show", out("edited.mitm"), "--detail", "2"]).stdout)).toMatch(/x-edited: yes/);
  });

  it("a broken line is damage: exit 3, the flows before it kept", () => {
    const lines = text(reflow(["show", sample, "--json"]).stdout)
      .trim()
      .split("\n");
    writeFileSync(out("broken.jsonl"), `${lines[0]}\n${lines[1]}\n{"id": "x", "type": \n`);
    const r = reflow(["convert", out("broken.jsonl"), "-o", out("broken-back.mitm")]);
    expect(r.status).toBe(3);
    expect(
      text(reflow(["show", out("broken-back.mitm"), "--json"]).stdout)
        .trim()
        .split("\n").length,
    ).toBe(2);
  });
});

it("cliPath is built", () => expect(existsSync(cliPath)).toBe(true));
