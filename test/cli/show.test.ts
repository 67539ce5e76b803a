/**
 * `reflow show` against expected listings (test/cli/expected/show/, regenerate with
 * UPDATE_EXPECTED=1), its filter words and exit codes, and `--json` against the flows it
 * was made from. Needs the built CLI (`npx tsc -p .`).
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { FlowJson, HttpMessageJson, MessageJson } from "../../src/io/formats/jsonl-writer.js";
import { readFlows } from "../../src/io/flow-source.js";
import type { Flow, HTTPFlow, Message, TCPFlow } from "../../src/model/index.js";
import { manyBuffersCapture, projectRoot, reflow, testdata } from "../helpers.js";

const expectedDir = join(projectRoot, "test", "cli", "expected", "show");
const capture = (rel: string): string => join(testdata, rel);
const REAL = capture("captures/real-v17.mitm");
const TFLOW = capture("captures/tflow-v21.mitm");

/** Compares stdout with the expected file (written instead when UPDATE_EXPECTED is set). */
function expectListing(name: string, args: string[]): void {
  const r = reflow(["show", ...args]);
  expect(r.stderr.toString()).toBe("");
  expect(r.status).toBe(0);
  const file = join(expectedDir, name);
  if (process.env.UPDATE_EXPECTED) {
    mkdirSync(expectedDir, { recursive: true });
    writeFileSync(file, r.stdout);
  }
  expect(r.stdout.toString()).toBe(readFileSync(file, "utf8"));
}

describe("reflow show listings", () => {
  for (const level of [1, 2, 3, 4]) {
    it(`lists mitmdump's capture at --detail ${level}`, () =>
      expectListing(`real-v17.detail-${level}.txt`, [REAL, "--detail", String(level)]));
    it(`lists HTTP, WebSocket, TCP, UDP and DNS flows at --detail ${level}`, () =>
      expectListing(`tflow-v21.detail-${level}.txt`, [TFLOW, "--detail", String(level)]));
  }

  it("cuts long bodies at --detail 3 with a note, and not at 4", () => {
    const file = capture("mitmproxy-tests/dumpfile-19.mitm");
    expectListing("dumpfile-19.detail-3.txt", [file, "--detail", "3"]);
    const full = reflow(["show", file, "--detail", "4"]).stdout.toString();
    expect(full).not.toContain("cut off");
    expect(full.split("\n").length).toBeGreaterThan(2000);
    expect(full).toContain("</html>");
  });

  it("shows a body that cannot be decoded as stored, with the reason", () =>
    expectListing("corrupted-gzip.detail-3.txt", [
      capture("mitmproxy-tests/flows/corrupted_gzip_body.mitm"),
      "--detail",
      "3",
    ]));

  it("shows only the flows the filter words match", () =>
    expectListing("real-v17.filtered.txt", [REAL, "~c", "404", "|", "~tcp", "--detail", "2"]));

  it("takes words that are not files as the filter, slashes and regex characters included", () => {
    const r = reflow(["show", REAL, "/nope", "|", "/js.n$"]);
    expect(r.stdout.toString().match(/: GET \S+/g)).toEqual([
      ": GET http://127.0.0.1:28471/nope",
      ": GET https://127.0.0.1:28472/json",
      ": GET https://localhost:28472/json",
    ]);
  });

  it("shows nothing at --detail 0", () => {
    const r = reflow(["show", REAL, "--detail", "0"]);
    expect(r.status).toBe(0);
    expect(r.stdout.length).toBe(0);
  });

  it("reads several inputs in order, and stdin", () => {
    const one = reflow(["show", REAL]).stdout.toString();
    const two = reflow(["show", TFLOW]).stdout.toString();
    expect(reflow(["show", REAL, TFLOW]).stdout.toString()).toBe(one + two);
    expect(reflow(["show", "-"], { input: readFileSync(REAL) }).stdout.toString()).toBe(one);
  });

  it("shows a file of many read buffers as the sum of its parts (read buffers are reused)", () => {
    const { file, real, big, copies } = manyBuffersCapture(mkdtempSync(join(tmpdir(), "reflow-show-")));
    for (const args of [["--detail", "1"], ["--json"]]) {
      const one = reflow(["show", real, ...args]).stdout.toString();
      const bigOut = reflow(["show", big, ...args]).stdout.toString();
      const r = reflow(["show", file, ...args]);
      expect(r.status).toBe(0);
      expect(r.stdout.toString() === one.repeat(copies) + bigOut + one.repeat(copies), args.join(" ")).toBe(true);
    }
  });

  it("matches case-insensitively unless --case-sensitive", () => {
    expect(reflow(["show", REAL, "~u", "/NOPE"]).stdout.toString()).toContain("/nope");
    expect(reflow(["show", REAL, "~u", "/NOPE", "--case-sensitive"]).stdout.toString()).toBe("");
  });
});

describe("reflow show errors", () => {
  it("refuses a malformed filter with exit 2 and a caret, before reading", () => {
    const r = reflow(["show", REAL, "~c200"]);
    expect(r.status).toBe(2);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr.toString()).toBe(
      "error: invalid filter expression: ~c must be followed by a space or a parenthesis (write ~c 200)\n  ~c200\n    ^\n",
    );
  });

  it("exits 2 on a missing input and on a bad --detail", () => {
    expect(reflow(["show", join(tmpdir(), "no-such-file.mitm")]).status).toBe(2);
    expect(reflow(["show", REAL, "--detail", "5"]).status).toBe(2);
  });

  it("shows the flows before damage, then exits 3", () => {
    const dir = mkdtempSync(join(tmpdir(), "reflow-show-"));
    const cut = join(dir, "cut.mitm");
    writeFileSync(cut, readFileSync(REAL).subarray(0, 5000));
    const r = reflow(["show", cut, capture("captures/real-v17-chunked.mitm")]);
    expect(r.status).toBe(3);
    expect(
      r.stdout
        .toString()
        .split("\n")
        .filter((l) => l.includes(": GET ")),
    ).toHaveLength(3);
    expect(r.stderr.toString()).toMatch(/cut\.mitm: .*byte offset 4498, flow #2/);
  });

  it("names damage inside a flow, found only as it is read, with the flows before it shown (exit 3)", () => {
    // The second flow's method stored as an int: framing and the top level are sound, so
    // the damage shows when a listing, a filter or the JSON writer reads the request.
    const real = readFileSync(REAL);
    const at = real.indexOf("6:method;3:GET,", real.indexOf("6:method;3:GET,") + 1);
    const damaged = Buffer.from(real);
    damaged.write("#", at + "6:method;3:GET".length, "latin1");
    const dir = mkdtempSync(join(tmpdir(), "reflow-show-"));
    const file = join(dir, "bad-method.mitm");
    writeFileSync(file, damaged);
    const first = reflow(["show", REAL]).stdout.toString().split("\n").slice(0, 2).join("\n");
    const where = `${file}: not a tnetstring: bad int "GET" (byte offset ${at + "6:method;3:".length}, flow #1)`;
    for (const args of [[], ["~m", "POST"], ["--json"], ["--detail", "3"]]) {
      const r = reflow(["show", file, ...args]);
      expect(r.status, args.join(" ")).toBe(3);
      expect(r.stderr.toString(), args.join(" ")).toBe(`error: ${where}\n`);
      if (args.length === 0) expect(r.stdout.toString()).toBe(`${first}\n`);
    }
    const out = join(dir, "out.jsonl");
    const c = reflow(["convert", file, "-o", out, "--to", "jsonl", "-q"]);
    expect([c.status, c.stderr.toString()]).toEqual([3, `error: ${where}\n`]);
    expect(readFileSync(out, "utf8").split("\n")).toHaveLength(2); // the first flow, then nothing
  });
});

describe("reflow filter", () => {
  it("explains an expression in words", () => {
    const r = reflow(["filter", "--explain", "~u /api ~m POST | ~m PUT"]);
    expect(r.status).toBe(0);
    expect(r.stdout.toString()).toBe("url matches /\\/api/i and (method matches /POST/i or method matches /PUT/i)\n");
    const cs = reflow(["filter", "--explain", "--case-sensitive", "!(~h", "x", "|", "~b", "'a b')"]);
    expect(cs.stdout.toString()).toBe("not (header matches /x/m or body matches /a b/s)\n");
  });

  it("checks an expression quietly, and exits 2 with a caret on a bad one", () => {
    expect(reflow(["filter", "~q | ~s"]).stdout.length).toBe(0);
    const r = reflow(["filter", "(~q", "|", "~s"]);
    expect(r.status).toBe(2);
    expect(r.stderr.toString()).toBe("error: invalid filter expression: missing ')'\n  (~q | ~s\n          ^\n");
  });

  it("lists the operators in --help", () => {
    const help = reflow(["filter", "--help"]).stdout.toString();
    for (const op of ["~a", "~bq REGEX", "~c CODE", "~websocket", "~all", "~udp", "~marker REGEX"])
      expect(help).toContain(op);
  });
});

describe("reflow show --json", () => {
  const flowsOf = async (file: string): Promise<Flow[]> => {
    const out: Flow[] = [];
    for await (const f of readFlows(file)) out.push(f);
    return out;
  };
  const bytesOf = (text: string | null, encoding: string | null): Buffer | null =>
    text === null ? null : Buffer.from(text, encoding === "base64" ? "base64" : "utf8");

  function sameMessage(json: HttpMessageJson, message: Message): void {
    expect(json.http_version).toBe(message.httpVersion);
    expect(json.headers).toEqual([...message.headers]);
    expect(json.stored_size).toBe(message.rawContent?.length ?? 0);
    let content: Buffer | null;
    try {
      content = message.getContent(true);
      expect(json.body_decoded).toBe(true);
    } catch {
      content = message.rawContent;
      expect(json.body_decoded).toBe(false);
    }
    expect(bytesOf(json.body, json.body_encoding)).toEqual(content);
    expect(json.body_size).toBe(content?.length ?? 0);
    expect(json.timestamp_start).toBe(message.timestampStart);
  }

  function sameMessages(
    json: MessageJson[],
    messages: { fromClient: boolean; content: Buffer; timestamp: number }[],
  ): void {
    expect(json.length).toBe(messages.length);
    json.forEach((m, i) => {
      expect(m.from_client).toBe(messages[i]!.fromClient);
      expect(bytesOf(m.content, m.content_encoding)).toEqual(messages[i]!.content);
      expect(m.timestamp).toBe(messages[i]!.timestamp);
    });
  }

  let checked = 0;
  beforeAll(() => {
    checked = 0;
  });

  for (const rel of [
    "captures/real-v17.mitm",
    "captures/tflow-v21.mitm",
    "mitmproxy-tests/flows/websocket.mitm",
    "mitmproxy-tests/flows/corrupted_gzip_body.mitm",
    "mitmproxy-tests/flows/diff_data.mitm",
  ]) {
    it(`gives one object per flow of ${rel}, with the fields of the flow`, async () => {
      const r = reflow(["show", capture(rel), "--json"]);
      expect(r.status).toBe(0);
      const lines = r.stdout.toString().split("\n");
      expect(lines.pop()).toBe("");
      const objects = lines.map((l) => JSON.parse(l) as FlowJson);
      const flows = await flowsOf(capture(rel));
      expect(objects.map((o) => o.id)).toEqual(flows.map((f) => f.id));
      objects.forEach((o, i) => {
        const f = flows[i]!;
        expect(o.type).toBe(f.type);
        expect(o.timestamp_created).toBe(f.timestampCreated);
        expect(o.marked).toBe(f.marked);
        expect(o.comment).toBe(f.comment);
        expect(o.is_replay).toBe(f.isReplay);
        expect(o.error).toEqual(f.error ? { msg: f.error.msg, timestamp: f.error.timestamp } : null);
        if (f.type === "http") {
          const h = f as HTTPFlow;
          expect(o.request!.method).toBe(h.request.method);
          expect(o.request!.url).toBe(h.request.url);
          sameMessage(o.request!, h.request);
          if (h.response) {
            expect(o.response!.status_code).toBe(h.response.statusCode);
            expect(o.response!.reason).toBe(h.response.reason);
            sameMessage(o.response!, h.response);
          } else expect(o.response).toBeNull();
          if (h.websocket) sameMessages(o.websocket!.messages, h.websocket.messages);
          else expect(o.websocket).toBeUndefined();
        }
        if (f.type === "tcp" || f.type === "udp") sameMessages(o.messages!, (f as TCPFlow).messages);
        if (f.type === "dns") expect(o.dns_request!.questions[0]!.name).toBe("dns.google");
        checked++;
      });
    });
  }

  it("filters JSON output too", () => {
    const r = reflow(["show", REAL, "--json", "~bs", "vé"]);
    const objects = r.stdout
      .toString()
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as FlowJson);
    expect(objects.map((o) => o.response!.body)).toEqual(['{"k": "vé"}', '{"k": "vé"}']);
    expect(checked).toBeGreaterThan(0);
  });
});

describe("show: a body that decodes to gigabytes (a decompression bomb)", () => {
  it("is shown as stored, not decoded whole, at --detail 3 and 4", async () => {
    const { FlowWriter } = await import("../../src/io/flow-writer.js");
    const { gzipSync } = await import("node:zlib");
    const dir = mkdtempSync(join(tmpdir(), "reflow-show-bomb-"));
    const bomb = join(dir, "bomb.mitm");
    const writer = await FlowWriter.open(bomb);
    for await (const flow of readFlows(REAL)) {
      const response = (flow as HTTPFlow).response;
      if (!response) continue;
      response.headers.set("content-type", "text/plain");
      response.headers.set("content-encoding", "gzip");
      response.rawContent = gzipSync(Buffer.alloc(65 << 20, 0x61)); // 65 MiB of text in ~64 KB
      await writer.write(flow);
      break;
    }
    await writer.close();
    for (const detail of ["3", "4"]) {
      const r = reflow(["show", bomb, "--detail", detail]);
      expect(r.status, r.stderr.toString()).toBe(0);
      const out = r.stdout.toString();
      expect(out, `--detail ${detail}: said so`).toContain("decodes to more than 64 MiB; shown as stored");
      expect(out, `--detail ${detail}: the stored gzip bytes as a hex dump`).toMatch(/00000000 {2}1f 8b 08/);
      expect(out.length, "not the decoded text").toBeLessThan(2 << 20);
    }
  });
});
