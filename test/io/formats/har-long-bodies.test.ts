/**
 * Long HAR bodies are read from and written as bytes, never made JS strings (memory on a
 * 1 GB HAR): the flows and the HAR must be exactly those of the whole-JSON way.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { FlowReadError } from "../../../src/errors.js";
import { unescapeJsonString } from "../../../src/format/json-string-bytes.js";
import { encode } from "../../../src/format/tnetstring.js";
import { readFlows } from "../../../src/io/flow-source.js";
import { FlowWriter } from "../../../src/io/flow-writer.js";
import { harEntryToFlowState } from "../../../src/io/formats/har-reader.js";
import { BODY_PLACEHOLDER, HarEntryMaker } from "../../../src/io/formats/har-writer.js";
import type { Flow, HTTPFlow } from "../../../src/model/index.js";
import { reflow, testdata } from "../../helpers.js";

const dir = mkdtempSync(join(tmpdir(), "reflow-har-long-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** JSON string contents (as written between quotes) that stress escapes and Unicode. */
const jsonStrings = [
  "plain ascii",
  JSON.stringify({ a: 'quote " and \\ backslash', b: [1, 2] }),
  "tab\there\r\nnew line \u0001\u001f\u007f end",
  "caf\u00e9 \u20ac \u{1f600} mixed",
];
const rawEscapes = [
  "\\u00e9\\u20AC\\ud83d\\ude00\\/\\b\\f",
  "\\u0000nul",
  "lone \\udc80 low",
  "lone \\ud800 high",
  "bad \\x escape",
  "short \\u12",
];

describe("JSON strings as bytes", () => {
  it("unescapes as JSON.parse does, or says it cannot (lone surrogates, bad escapes)", () => {
    for (const s of jsonStrings) {
      const raw = JSON.stringify(s).slice(1, -1);
      expect(unescapeJsonString(Buffer.from(raw))?.toString("utf8"), raw).toBe(s);
    }
    for (const raw of rawEscapes) {
      let parsed: string | null = null;
      try {
        parsed = JSON.parse(`"${raw}"`) as string;
      } catch {
        /* a bad escape */
      }
      const bytes = unescapeJsonString(Buffer.from(raw));
      if (parsed === null || /[\ud800-\udfff]/.test(parsed.replace(/[\ud800-\udbff][\udc00-\udfff]/g, "")))
        expect(bytes, raw).toBeNull();
      else expect(bytes?.equals(Buffer.from(parsed, "utf8")), raw).toBe(true);
    }
  });
});

const LONG = 20_000;
const long = (s: string): string => s.repeat(Math.ceil(LONG / s.length));

/** A browser's entry with its response (and request) body replaced. */
function entryWith(
  text: string,
  opts: { mime?: string; encoding?: string; post?: { mime: string; text: string }; url?: string; cookie?: string } = {},
): string {
  const har = JSON.parse(readFileSync(join(testdata, "mitmproxy-tests", "har_files", "chrome.har"), "utf8"));
  const e = har.log.entries[0];
  const mime = opts.mime ?? "text/html; charset=utf-8";
  e.response.headers = e.response.headers.filter((h: { name: string }) => !/^content-(type|encoding)$/i.test(h.name));
  e.response.headers.push({ name: "Content-Type", value: mime });
  e.response.content = { size: 1, mimeType: mime, text: "\u0001TEXT\u0001" };
  if (opts.encoding) e.response.content.encoding = opts.encoding;
  if (opts.post) {
    e.request.method = "POST";
    e.request.headers.push({ name: "Content-Type", value: opts.post.mime });
    e.request.postData = { mimeType: opts.post.mime, text: "\u0001POST\u0001" };
  }
  if (opts.url) e.request.url = opts.url;
  if (opts.cookie) e.request.headers.push({ name: "Cookie", value: opts.cookie });
  // the texts go in as raw JSON string contents, so that escapes can be chosen
  return JSON.stringify(e)
    .replace('"\\u0001TEXT\\u0001"', `"${text}"`)
    .replace('"\\u0001POST\\u0001"', `"${opts.post?.text ?? ""}"`);
}

const raw = (s: string): string => JSON.stringify(s).slice(1, -1);
const png = Buffer.from(Array.from({ length: LONG }, (_, i) => (i * 7919) % 256));

/** a body whose base64 is longer than one slice of the reader's (4 Mi characters) */
const video = Buffer.from(Array.from({ length: 3_500_000 }, (_, i) => (i * 104729) % 256));

const entries = [
  entryWith(video.toString("base64"), { mime: "video/mp4", encoding: "base64" }),
  entryWith(video.toString("base64").replace(/(.{76})/g, "$1\\r\\n"), { mime: "video/mp4", encoding: "base64" }),
  entryWith(raw(long(JSON.stringify({ k: 'v "q"', n: [1, 2] }))), { mime: "application/json" }),
  entryWith(raw(long("<p>caf\u00e9 \u{1f600} \t\u0001 </p>\n"))),
  entryWith(long("\\u00e9\\ud83d\\ude00\\/ "), { mime: "text/html" }),
  entryWith(raw(long("ascii only text\n")), { mime: "text/plain" }),
  entryWith(raw(long("latin-1 caf\u00e9\n")), { mime: "text/plain" }),
  entryWith(raw(long("beyond latin-1 \u20ac\n")), { mime: "text/plain; charset=iso-8859-1" }),
  entryWith(raw(long("unknown charset \u00e9 ")), { mime: "text/plain; charset=x-no-such" }),
  entryWith(long("escaped byte \\udc80 "), { mime: "text/plain; charset=utf-8" }),
  entryWith(png.toString("base64"), { mime: "image/png", encoding: "base64" }),
  entryWith(png.toString("base64").replace(/\//g, "\\/"), { mime: "image/png", encoding: "base64" }),
  entryWith(raw(long("text with charset from encoding \u00e9 ")), { mime: "text/plain", encoding: "utf-8" }),
  entryWith(raw("short body"), { post: { mime: "application/x-www-form-urlencoded", text: raw(long("a=1&b=2&")) } }),
  entryWith(raw("short body"), { post: { mime: "application/json", text: raw(long('{"caf\u00e9": "\u{1f600}"}')) } }),
  entryWith(raw("short body"), { post: { mime: "text/plain", text: raw(long("form caf\u00e9 \u20ac")) } }),
  entryWith(raw(long("nul \u0000 inside ")), { mime: "text/plain; charset=utf-8" }),
  entryWith(raw(long("body ")), {
    url: `https://example.com/${"p".repeat(LONG)}?q=${"\u00e9".repeat(10)}`,
    cookie: long("c=v; "),
  }),
];

async function flowsOf(path: string): Promise<Flow[]> {
  const flows: Flow[] = [];
  for await (const flow of readFlows(path)) flows.push(flow);
  return flows;
}

describe("long HAR bodies", () => {
  const har = join(dir, "long.har");
  writeFileSync(har, `{"log": {"version": "1.2", "entries": [\n${entries.join(",\n")}\n]}}`);

  it("import to the flows the whole-JSON way makes", async () => {
    const flows = await flowsOf(har);
    expect(flows.length).toBe(entries.length);
    flows.forEach((flow, i) => {
      const whole = harEntryToFlowState(JSON.parse(entries[i]!), i);
      expect(encode(flow.state.top()).equals(encode(whole)), `entry #${i}`).toBe(true);
    });
  });

  it("export as the entries HarEntryMaker makes, the placeholder's text in a header too", async () => {
    const flows = await flowsOf(har);
    (flows[3] as HTTPFlow).response!.headers.set("x-odd", BODY_PLACEHOLDER);
    const out = join(dir, "again.har");
    const writer = await FlowWriter.open(out);
    for (const flow of flows) await writer.write(flow);
    await writer.close();
    const maker = new HarEntryMaker();
    // byte for byte: as JSON.stringify writes the whole entries
    const expected = flows.map((f) => JSON.stringify(maker.entry(f))).join(",\n");
    const written = readFileSync(out, "utf8");
    expect(written.includes(`[\n${expected}\n]`)).toBe(true);
    expect(JSON.parse(written).log.entries.length).toBe(flows.length);
  });

  it("a bad escape in a long body is damage in its entry, the entries before it kept", async () => {
    const broken = join(dir, "broken.har");
    writeFileSync(broken, `{"log": {"entries": [${entries[0]},${entryWith(long("bad \\q "))},${entries[1]}]}}`);
    const read: Flow[] = [];
    let error: unknown;
    try {
      for await (const flow of readFlows(broken)) read.push(flow);
    } catch (e) {
      error = e;
    }
    expect(read.length).toBe(1);
    expect(error).toBeInstanceOf(FlowReadError);
    expect((error as FlowReadError).flowIndex).toBe(1);
    const r = reflow(["convert", broken, "-o", join(dir, "broken.mitm")]);
    expect(r.status, r.stderr.toString()).toBe(3);
  });

  it("bytes that are not UTF-8 read as JSON.parse reads them", async () => {
    const text = Buffer.from(long("ok \u00e9 "), "utf8");
    text[10] = 0xff;
    const entry = Buffer.from(
      entryWith("\u0001BYTES\u0001".replace(/\u0001/g, "@@"), { mime: "text/plain; charset=utf-8" }),
    );
    const at = entry.indexOf("@@BYTES@@");
    const bytes = Buffer.concat([entry.subarray(0, at), text, entry.subarray(at + 9)]);
    const path = join(dir, "not-utf8.har");
    writeFileSync(path, Buffer.concat([Buffer.from('{"log": {"entries": ['), bytes, Buffer.from("]}}")]));
    const [flow] = await flowsOf(path);
    const whole = harEntryToFlowState(JSON.parse(bytes.toString("utf8")), 0);
    expect(encode(flow!.state.top()).equals(encode(whole))).toBe(true);
  });
});
