import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Change } from "../../src/diff/changes.js";
import { defaultCompareOptions } from "../../src/diff/diff-options.js";
import { FlowComparer } from "../../src/diff/flow-comparison.js";
import { IndexedDict, RawElement } from "../../src/format/tnetstring.js";
import { readFlows } from "../../src/io/flow-source.js";
import { type Flow, type HTTPFlow, Response } from "../../src/model/index.js";
import { fixtures, testdata } from "../helpers.js";

async function flowsOf(path: string): Promise<Flow[]> {
  const out: Flow[] = [];
  for await (const f of readFlows(path)) out.push(f);
  return out;
}

let sample: HTTPFlow[];
beforeAll(async () => {
  sample = (await flowsOf(join(fixtures, "sample.mitm"))) as HTTPFlow[];
});

const compare = (a: Flow, b: Flow, over = {}): Change[] => new FlowComparer(defaultCompareOptions(over)).compare(a, b);
/** Flow `i` of the sample, and a copy of it (new id, version 21, in memory) to change. */
const pair = (i: number): [HTTPFlow, HTTPFlow] => [sample[i]!, sample[i]!.copy()];

describe("FlowComparer", () => {
  it("finds nothing between a flow and its copy (another id and version)", () => {
    for (const flow of sample) expect(compare(flow, flow.copy())).toEqual([]);
  });

  it("leaves what is stored alike on both sides unparsed (connections, metadata)", async () => {
    const [a, b] = [await flowsOf(join(fixtures, "sample.mitm")), await flowsOf(join(fixtures, "sample.mitm"))];
    for (let i = 0; i < a.length; i++) {
      b[i]!.comment = "changed"; // the same bytes otherwise: compared entry by entry, not as bytes
      expect(compare(a[i]!, b[i]!)).toEqual([{ kind: "value", field: "comment", a: "", b: "changed" }]);
      for (const f of [a[i]!, b[i]!]) {
        const top = f.state.top() as IndexedDict;
        for (const key of ["client_conn", "server_conn", "metadata"]) expect(top.peek(key), key).toBeInstanceOf(RawElement);
      }
    }
  });

  it("compares the request line and status", () => {
    const [a, b] = pair(1);
    b.request.method = "POST";
    b.request.path = "/api/items?page=3";
    b.response!.statusCode = 500;
    b.response!.reason = "Internal Server Error";
    expect(compare(a, b)).toEqual([
      { kind: "value", field: "request.method", a: "GET", b: "POST" },
      {
        kind: "value",
        field: "request.url",
        a: "http://127.0.0.1:28601/api/items?page=2&token=xyz",
        b: "http://127.0.0.1:28601/api/items?page=3",
      },
      { kind: "value", field: "response.status_code", a: 200, b: 500 },
      { kind: "value", field: "response.reason", a: "OK", b: "Internal Server Error" },
    ]);
  });

  it("compares JSON bodies by path; Content-Length changes with them", () => {
    const [a, b] = pair(1);
    const body = b.response!.json();
    body.items[1].name = "gamma";
    b.response!.text = JSON.stringify(body, null, 2); // other spacing: not a change in itself
    expect(compare(a, b)).toEqual([
      {
        kind: "header",
        field: "response.headers",
        name: "Content-Length",
        a: ["85"],
        b: [String(b.response!.rawContent!.length)],
      },
      { kind: "json", field: "response.body", path: "$.items[1].name", a: "beta", b: "gamma" },
    ]);
  });

  it("compares decoded bodies: a gzip body re-encoded another way is the same body", () => {
    const [a, b] = pair(2);
    b.response!.headers.set("content-encoding", "br");
    b.response!.content = a.response!.content; // same text, now brotli
    const changes = compare(a, b);
    expect(changes.map((c) => (c.kind === "header" ? c.name.toLowerCase() : c.field)).sort()).toEqual([
      "content-encoding",
      "content-length",
    ]);
  });

  it("line-diffs text bodies", () => {
    const [a, b] = pair(2);
    b.response!.text = a.response!.text!.replace("hello compressed world\n", "hello CHANGED world\n");
    const body = compare(a, b).find((c) => c.field === "response.body");
    expect(body).toEqual({
      kind: "text",
      field: "response.body",
      hunks: [
        {
          a_start: 1,
          a_lines: 4,
          b_start: 1,
          b_lines: 4,
          lines: [
            "-hello compressed world",
            "+hello CHANGED world",
            " hello compressed world",
            " hello compressed world",
            " hello compressed world",
          ],
        },
      ],
    });
  });

  it("compares binary bodies by size and hash, and a missing body", () => {
    const [a, b] = pair(0);
    a.response!.content = Buffer.from([0, 1, 2, 3]);
    b.response!.content = Buffer.from([0, 1, 2, 4, 5]);
    const body = compare(a, b).find((c) => c.field === "response.body");
    expect(body).toMatchObject({ kind: "body", a: { size: 4 }, b: { size: 5 } });
    b.response!.rawContent = null;
    expect(compare(a, b).find((c) => c.field === "response.body")).toMatchObject({
      kind: "body",
      a: { size: 4 },
      b: null,
    });
  });

  it("reports a response, an error, a comment, a marker and metadata on one side", () => {
    const [a, b] = pair(6); // the error flow: no response
    b.response = Response.make(200, "ok");
    b.error = null;
    b.comment = "looked at";
    b.marked = ":default:";
    b.metadata = { tag: "x" };
    expect(compare(a, b)).toEqual([
      { kind: "value", field: "response", b: "200 OK" },
      { kind: "value", field: "error", a: a.error!.msg },
      { kind: "value", field: "comment", a: "", b: "looked at" },
      { kind: "value", field: "marked", a: "", b: ":default:" },
      { kind: "value", field: "metadata.tag", b: "x" },
    ]);
    expect(
      compare(a, b, { ignore: new Set(["timestamps", "comment", "marked", "metadata"]) }).map((c) => c.field),
    ).toEqual(["response", "error"]);
  });

  it("ignores timestamps, connection ids and addresses by default, and compares them when asked", () => {
    const [a, b] = pair(0);
    b.request.timestampStart += 10;
    b.timestampCreated += 10;
    b.clientConn.peername = ["10.0.0.1", 4444];
    b.serverConn.timestampStart = 1;
    expect(compare(a, b)).toEqual([]);
    const fields = compare(a, b, { ignore: new Set() }).map((c) => c.field);
    expect(fields).toEqual([
      "request.timestamp_start",
      "timestamp_created",
      "client_conn.peername[0]",
      "client_conn.peername[1]",
      "server_conn.timestamp_start",
    ]);
    expect(compare(a, b, { ignore: new Set(["timestamps"]) }).map((c) => c.field)).toEqual([
      "client_conn.peername[0]",
      "client_conn.peername[1]",
    ]);
  });

  it("leaves out ignored headers", () => {
    const [a, b] = pair(0);
    b.response!.headers.set("Date", "Sun, 22 Nov 2026 00:00:00 GMT");
    expect(compare(a, b)).toHaveLength(1);
    expect(compare(a, b, { ignoreHeaders: new Set(["date"]) })).toEqual([]);
  });

  it("compares WebSocket messages as a sequence", async () => {
    const a = (await flowsOf(join(testdata, "mitmproxy-tests", "flows", "websocket.mitm")))[2] as HTTPFlow;
    const b = a!.copy();
    const messages = b.websocket!.messages;
    messages[1]!.content = Buffer.from("changed");
    const changes = compare(a!, b);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({
      kind: "message",
      field: "websocket.messages",
      a: { index: 1 },
      b: { index: 1, preview: "changed" },
    });
  });

  it("compares flows of different types by type only", async () => {
    const [tcp, udp] = (await flowsOf(join(testdata, "captures", "tflow-v21.mitm"))).filter(
      (f) => f.type === "tcp" || f.type === "udp",
    );
    expect(compare(tcp!, udp!)).toEqual([{ kind: "value", field: "type", a: "tcp", b: "udp" }]);
  });

  it("compares TCP messages", async () => {
    const [tcp] = (await flowsOf(join(testdata, "captures", "tflow-v21.mitm"))).filter((f) => f.type === "tcp");
    const copy = tcp!.copy() as typeof tcp & { messages: { content: Buffer }[] };
    copy.messages[0]!.content = Buffer.from("other");
    expect(compare(tcp!, copy)).toMatchObject([
      { kind: "message", field: "messages", a: { index: 0 }, b: { index: 0, preview: "other" } },
    ]);
  });
});
