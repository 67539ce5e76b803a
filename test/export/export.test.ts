/**
 * `reflow export`: commands and bytes as mitmproxy's export addon gives them, and a curl
 * command that, run by a shell against the live origin, gets the answer that was recorded.
 */
import { createHash } from "node:crypto";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { shellQuote } from "../../src/export/index.js";
import { encodeUtf8Escaped } from "../../src/model/index.js";
import { harSchemaErrors } from "../io/formats/har-schema.js";
import { fixtures, reflow, reflowAsync, testdata } from "../helpers.js";
import { httpFlows, httpOrigin, killStrayCaptures, type Listening, startCapture, tempDir, viaProxy, waitForHttpFlow } from "../proxy/capture-harness.js";

const sample = join(fixtures, "sample.mitm");

describe("shell quoting", () => {
  it("leaves safe words, single-quotes the rest, and never lets a control byte through raw", () => {
    expect(shellQuote("http://h/x?a=1")).toBe("'http://h/x?a=1'");
    expect(shellQuote("plain-word_1.0")).toBe("plain-word_1.0");
    expect(shellQuote("")).toBe("''");
    for (const text of ["it's", "a b", "$(rm -rf /)", "`x`", "a\nb", "\x1b[31mred", "tab\there", "back\\slash'q"]) {
      const quoted = shellQuote(text);
      expect(quoted).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
      const echoed = spawnSync("bash", ["-c", `printf %s ${quoted}`], { encoding: "utf8" });
      expect(echoed.stdout, JSON.stringify(text)).toBe(text);
    }
  });

  it("escapes C1 and bidi controls and escaped bytes too, and the word still means the same bytes", () => {
    // a C1 CSI (U+009B, bytes C2 9B), a bidi override, an isolate, a raw byte 0x9B that was not UTF-8 (U+DC9B)
    for (const text of ["a\u009b2J", "x/\u202eexe.txt", "\u2066iso\u2069 ok", "raw\udc9bbyte", "mix \x1b]0;t\x07 \u202e 日本 😀 it's"]) {
      const quoted = shellQuote(text);
      expect(quoted, JSON.stringify(text)).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/);
      expect(quoted, `${JSON.stringify(text)}: no lone surrogate`).not.toMatch(/(?<![\ud800-\udbff])[\udc00-\udfff]/);
      const echoed = spawnSync("bash", ["-c", `printf %s ${quoted}`], { env: { ...process.env, LC_ALL: "C" } });
      expect(echoed.stdout, JSON.stringify(text)).toEqual(encodeUtf8Escaped(text));
    }
  });
});

describe("reflow export formats", () => {
  it("curl: headers, --compressed for Accept-Encoding, -X for other methods, the body", () => {
    const r = reflow(["export", sample, "~m POST"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    const lines = r.stdout.toString().trim().split("\n");
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toMatch(/^curl .* -X POST http:\/\/127\.0\.0\.1:28601\/\S+ --data-binary '.+'$/);
    expect(reflow(["export", sample, "~u gzip"]).stdout.toString()).toContain(" --compressed ");
  });

  it("raw_request and raw_response: HTTP/1 bytes with the body decoded", () => {
    const response = reflow(["export", sample, "--format", "raw_response", "~u gzip"]).stdout;
    const [head, body] = [response.subarray(0, response.indexOf("\r\n\r\n")).toString(), response.subarray(response.indexOf("\r\n\r\n") + 4)];
    expect(head.split("\r\n")[0]).toBe("HTTP/1.1 200 OK");
    expect(head).not.toMatch(/content-encoding/i);
    expect(head).toContain(`Content-Length: ${body.length}`);
    expect(body.toString()).toMatch(/^(hello compressed world\n)+$/);
    const request = reflow(["export", sample, "--format", "raw_request", "~u /login"]).stdout.toString();
    expect(request).toMatch(/^POST \/login HTTP\/1\.1\r\n[\s\S]*\r\n\r\nuser=alice&password=hunter2$/);
  });

  it("raw: request, response and a WebSocket's messages as mitmproxy lists them; other flows left out with a warning", () => {
    const r = reflow(["export", join(testdata, "captures", "tflow-v17.mitm"), "--format", "raw", "~websocket"]);
    expect(r.status, r.stderr.toString()).toBe(0);
    const parts = r.stdout.toString("latin1").split("\r\n\r\n");
    expect(parts[0]).toMatch(/^GET \S+ HTTP\/1\.1\r\n/);
    expect(parts.some((p) => p.startsWith("HTTP/1.1 101 "))).toBe(true);
    const messages = parts[parts.length - 1]!.split("\n");
    expect(messages.length).toBeGreaterThan(1);
    for (const m of messages) expect(m).toMatch(/^\[(OUTGOING|INCOMING)\] /);
    const all = reflow(["export", join(testdata, "captures", "tflow-v17.mitm"), "--format", "curl"]);
    expect(all.stderr.toString(), "TCP and DNS flows are named as left out").toMatch(/^warning: .*\(tcp\)/m);
  });

  it("har-entry: one HAR 1.2 entry per line", () => {
    const r = reflow(["export", sample, "--format", "har-entry"]);
    const entries = r.stdout.toString().trim().split("\n").map((l) => JSON.parse(l));
    expect(entries).toHaveLength(7);
    for (const e of entries) {
      for (const k of ["startedDateTime", "time", "request", "response", "cache", "timings"]) expect(e, k).toHaveProperty(k);
      for (const k of ["method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize"]) expect(e.request, k).toHaveProperty(k);
      for (const k of ["status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize"]) expect(e.response, k).toHaveProperty(k);
    }
    expect(entries.find((e) => e.request.url.endsWith("/gzip")).response.content.text).toMatch(/^hello compressed world/);
    // the entries make a valid HAR 1.2 document
    const doc = { log: { version: "1.2", creator: { name: "reflow", version: "test" }, pages: [], entries } };
    expect(harSchemaErrors(doc)).toEqual([]);
  });
});

describe("a binary body's file", () => {
  it("stays in --body-dir whatever the flow's id holds", () => {
    const dir = tempDir("reflow-export-id-");
    const jsonl = join(dir, "flows.jsonl");
    expect(reflow(["convert", join(testdata, "captures", "tflow-v21.mitm"), "-o", jsonl]).status).toBe(0);
    const flow = JSON.parse(readFileSync(jsonl, "utf8").split("\n")[0]!) as { id: string; request: Record<string, unknown> };
    // an id a hostile file may hold: a way out of the folder, and a terminal control
    Object.assign(flow, { id: "../../outside\x1b]0;t\x07" });
    Object.assign(flow.request, { method: "POST", body: Buffer.from([0, 1, 255]).toString("base64"), body_encoding: "base64" });
    writeFileSync(jsonl, `${JSON.stringify(flow)}\n`);
    const bodies = join(dir, "a", "bodies");
    const r = reflow(["export", jsonl, "--body-dir", bodies]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(readdirSync(dir).sort(), "nothing written beside the folder").toEqual(["a", "flows.jsonl"]);
    expect(readdirSync(join(dir, "a")), "nor above it").toEqual(["bodies"]);
    const [name] = readdirSync(bodies);
    expect(readFileSync(join(bodies, name!))).toEqual(Buffer.from([0, 1, 255]));
    expect(r.stdout.toString(), "the command reads that file").toContain(`@${join(bodies, name!)}`);
  });
});

describe("an exported curl command against the live origin", () => {
  let origin: Listening<import("node:http").Server>;
  const dir = tempDir("reflow-export-");
  beforeAll(async () => {
    // answers with what it received, so an answer equals the recorded one only if the command sent the same request
    origin = await httpOrigin((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        const answer = JSON.stringify({ method: req.method, url: req.url, token: req.headers["x-token"] ?? null, body: createHash("sha256").update(body).digest("hex"), size: body.length });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(answer);
      });
    });
  });
  afterAll(async () => {
    await origin?.close();
    killStrayCaptures();
  });

  it("gets the recorded answer, for a text body with quotes and newlines and for a binary body read from a file", async () => {
    const out = join(dir, "recorded.mitm");
    const cap = await startCapture(["-w", out, "--confdir", join(dir, "conf"), "-q"]);
    const url = (p: string): string => `http://127.0.0.1:${origin.port}${p}`;
    const binary = Buffer.from([0, 1, 2, 255, 254, 10, 13, 39, 34, 0]);
    try {
      const host = ["Host", `127.0.0.1:${origin.port}`];
      await viaProxy(cap.port, url("/text?q=it's"), { method: "PUT", headers: [...host, "X-Token", "a'b c", "Content-Type", "text/plain"], body: "line one\nit's \"quoted\" $HOME `x`\n" });
      await viaProxy(cap.port, url("/binary"), { method: "POST", headers: [...host, "Content-Type", "application/octet-stream"], body: binary });
      await waitForHttpFlow(out, "/binary");
    } finally {
      await cap.stop();
    }
    for (const flow of await httpFlows(out)) {
      const bodyDir = join(dir, "bodies");
      const r = await reflowAsync(["export", out, "--body-dir", bodyDir, `~u ${flow.request.path.split("?")[0]}`]);
      expect(r.status, r.stderr.toString()).toBe(0);
      const command = r.stdout.toString().trim();
      if (flow.request.path === "/binary") {
        expect(command, "a binary body is read from a file").toContain(`--data-binary @${join(bodyDir, `${flow.id}.body`)}`);
        expect(existsSync(join(bodyDir, `${flow.id}.body`))).toBe(true);
        expect(readFileSync(join(bodyDir, `${flow.id}.body`)).equals(binary)).toBe(true);
      }
      const ran = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn("sh", ["-c", command]);
        let o = "";
        let e = "";
        child.stdout.on("data", (d: Buffer) => (o += d));
        child.stderr.on("data", (d: Buffer) => (e += d));
        child.on("close", (code) => resolve({ code, out: o, err: e }));
      });
      expect(ran.code, ran.err).toBe(0);
      expect(ran.out, `${flow.request.method} ${flow.request.path}`).toBe(flow.response!.content!.toString());
    }
  });
});
