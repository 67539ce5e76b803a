import { describe, expect, it } from "vitest";
import { FlowStateError } from "../../src/errors.js";
import { MigrationContext, migrateToNewest } from "../../src/format/migrations/index.js";
import { IndexedDict, PyFloat, RawElement, type TDict, decode, decodeShallowDict, encode } from "../../src/format/tnetstring.js";
import { DetachedState } from "../../src/format/detached-state.js";
import { DNSFlow } from "../../src/model/dns-flow.js";
import { flowFromState } from "../../src/model/flow-factory.js";
import { FlowError } from "../../src/model/flow-error.js";
import { HTTPFlow } from "../../src/model/http-flow.js";
import { Response } from "../../src/model/response.js";
import { TCPFlow, UDPFlow } from "../../src/model/tcp-flow.js";
import { relative } from "node:path";
import { isReadableVersion } from "../../src/format/flow-record.js";
import { allMitmFiles } from "../helpers.js";
import { readRecords, testdata } from "./flow-files.js";

const REAL_V17 = "captures/real-v17.mitm";
const TFLOW_V21 = "captures/tflow-v21.mitm";

/** Reads (without changing) everything a display or filter would look at. */
function readEverything(flow: ReturnType<typeof flowFromState>, withConnections: boolean): void {
  void [
    flow.id,
    flow.type,
    flow.error?.msg,
    flow.marked,
    flow.comment,
    flow.isReplay,
    flow.timestampCreated,
    flow.intercepted,
  ];
  void [...flow.metadata];
  if (withConnections)
    void [flow.clientConn.peername, flow.clientConn.sni, flow.serverConn.address, flow.serverConn.alpn];
  if (flow instanceof HTTPFlow) {
    const q = flow.request;
    void [
      q.method,
      q.url,
      q.prettyUrl,
      q.query.fields,
      q.cookies.fields,
      [...q.headers],
      q.getText(false),
      q.urlencodedForm.fields,
    ];
    const r = flow.response;
    if (r) void [r.statusCode, r.reason, [...r.headers], r.getText(false), r.cookies.fields, r.trailers];
    const ws = flow.websocket;
    if (ws) void [ws.closeCode, ws.messages.map((m) => [m.content, m.fromClient, m.timestamp])];
  }
  if (flow instanceof TCPFlow || flow instanceof UDPFlow) void flow.messages.map((m) => [m.content, m.timestamp]);
  if (flow instanceof DNSFlow) void [flow.request.questions, flow.response?.answers];
}

/** True once the migrations from version 17 are in (another part of the project). */
function v17Migrates(): boolean {
  try {
    migrateToNewest(new Map([["version", 17]]) as TDict, new MigrationContext());
    return true;
  } catch (e) {
    return !(e instanceof FlowStateError && e.code === "E_FLOW_VERSION");
  }
}

describe("laziness", () => {
  it("making a flow object parses nothing; changing response headers parses only the response", async () => {
    for (const file of [REAL_V17, TFLOW_V21]) {
      const [record] = await readRecords(file);
      const flow = flowFromState(record!) as HTTPFlow;
      expect(record!.touched).toBe(false);
      flow.response!.headers.set("newheader", "foo");
      const top = record!.top() as IndexedDict; // peek: an entry as stored, without parsing it
      expect(top.peek("request")).toBeInstanceOf(RawElement);
      expect(top.peek("client_conn")).toBeInstanceOf(RawElement);
      expect(top.peek("server_conn")).toBeInstanceOf(RawElement);
      expect(top.peek("response")).toBeInstanceOf(Map);
      // and the change is in the state, in the schema's kinds
      const back = decode(encode(top)) as TDict;
      const headers = (back.get("response") as TDict).get("headers") as Buffer[][];
      expect(headers.at(-1)).toEqual([Buffer.from("newheader"), Buffer.from("foo")]);
    }
  });

  it("reading entries fills no top-level dict; filled later, it holds the very objects read", async () => {
    for (const file of [REAL_V17, TFLOW_V21]) {
      const [record] = await readRecords(file);
      const flow = flowFromState(record!) as HTTPFlow;
      const request = flow.request;
      const id = flow.id;
      expect(record!.entry("no_such_entry")).toBeNull();
      expect(record!.version).toBe(record!.storedVersion); // read without parsing the whole flow
      const top = record!.top() as IndexedDict;
      expect(top.unfilled?.read.size).toBe(2); // request and id, nothing else
      expect(record!.touched).toBe(true);
      request.headers.set("x-early", "1"); // changed before the dict is filled
      expect(top.get("request")).toBe(request.state);
      expect(top.get("id")).toBe(id);
      expect(top.peek("response")).toBeInstanceOf(RawElement);
      expect([...top.keys()]).toEqual([...decodeShallowDict(record!.raw.bytes).keys()]); // order kept
      expect(top.unfilled).toBeNull();
      expect(top.get("request")).toBe(request.state);
      const back = decode(encode(top)) as TDict;
      expect(((back.get("request") as TDict).get("headers") as Buffer[][]).at(-1)).toEqual([
        Buffer.from("x-early"),
        Buffer.from("1"),
      ]);
    }
  });

  it("reading the request leaves the response unparsed", async () => {
    const [, record] = await readRecords(REAL_V17);
    const flow = flowFromState(record!) as HTTPFlow;
    expect(flow.request.url).toBe("http://127.0.0.1:28471/gzip");
    expect((record!.top() as IndexedDict).peek("response")).toBeInstanceOf(RawElement);
  });
});

describe("an untouched-but-read flow encodes to its original bytes", () => {
  it.each([
    REAL_V17,
    "captures/tflow-v17.mitm",
    "captures/real-v17-chunked.mitm",
    "captures/real-v17-incomplete-body.mitm",
  ])("%s (v17, connections not read)", async (file) => {
    for (const record of await readRecords(file)) {
      readEverything(flowFromState(record), false);
      expect(encode(record.top()).equals(record.raw.bytes)).toBe(true);
    }
  });

  it.each([TFLOW_V21, "mitmproxy-tests/flows/corrupted_gzip_body.mitm"])(
    "%s (v21, connections read too)",
    async (file) => {
      for (const record of await readRecords(file)) {
        readEverything(flowFromState(record), true);
        expect(encode(record.top()).equals(record.raw.bytes)).toBe(true);
      }
    },
  );
});

describe("flow fields", () => {
  it("id, type, marked, comment, metadata, isReplay, timestampCreated, intercepted", async () => {
    const [record] = await readRecords(TFLOW_V21);
    const flow = flowFromState(record!);
    expect(flow).toBeInstanceOf(HTTPFlow);
    expect(flow.type).toBe("http");
    expect(flow.id).toBe("9bb8420a-a9fc-4b70-80a0-c6851ccb1638");
    expect(flow.marked).toBe(":star:");
    expect(flow.comment).toBe("a comment");
    expect(flow.metadata.get("k")).toBe("v");
    expect(flow.isReplay).toBeNull();
    expect(flow.timestampCreated).toBe(946681200);
    expect(flow.intercepted).toBe(false);
    expect(flow.error).toBeNull();

    flow.marked = ":grapes:";
    flow.comment = "changed";
    flow.isReplay = "request";
    flow.timestampCreated = 1700000000;
    flow.metadata.set("added", 1);
    flow.metadata = { ...Object.fromEntries(flow.metadata), nested: { list: [1, "x"] } };
    const top = record!.top();
    expect(top.get("marked")).toBe(":grapes:");
    expect(top.get("is_replay")).toBe("request");
    expect(top.get("timestamp_created")).toEqual(new PyFloat(1700000000));
    const meta = top.get("metadata") as TDict;
    expect(meta.get("added")).toBe(1);
    expect((meta.get("nested") as TDict).get("list")).toEqual([1, "x"]);
  });

  it("error: read, set from {msg, timestamp}, cleared", async () => {
    const records = await readRecords(REAL_V17);
    const failed = flowFromState(records[8]!) as HTTPFlow;
    expect(failed.response).toBeNull();
    expect(failed.error!.msg).toBe("[Errno 111] Connect call failed ('127.0.0.1', 1)");
    expect(failed.error!.timestamp).toBe(1795234473.755852);

    const ok = flowFromState(records[0]!);
    ok.error = { msg: FlowError.KILLED_MESSAGE, timestamp: 1700000000 };
    const stored = records[0]!.top().get("error") as TDict;
    expect([...stored]).toEqual([
      ["msg", "Connection killed."],
      ["timestamp", new PyFloat(1700000000)],
    ]);
    expect(ok.error!.msg).toBe("Connection killed.");
    ok.error = null;
    expect(records[0]!.top().get("error")).toBeNull();
  });

  it("connections of a v21 flow, with camelCase fields, writable", async () => {
    const [record] = await readRecords(TFLOW_V21);
    const flow = flowFromState(record!);
    const c = flow.clientConn;
    expect(c.peername).toEqual(["127.0.0.1", 22]);
    expect(c.sockname).toEqual(["", 0]);
    expect(c.id).toBe("3b51d3b8-b8df-45f2-a7f6-363835781ba0");
    expect(c.alpn).toEqual(Buffer.from("http/1.1"));
    expect(c.tlsVersion).toBe("TLSv1.2");
    expect(c.cipher).toBe("cipher");
    expect(c.sni).toBe("address");
    expect(c.tls).toBe(false);
    expect(c.tlsEstablished).toBe(true);
    expect(c.timestampStart).toBe(946681200);
    expect(c.proxyMode).toBe("regular");
    expect(c.mitmcert).toBeNull();
    const s = flow.serverConn;
    expect(s.address).toEqual(["address", 22]);
    expect(s.peername).toEqual(["192.168.0.1", 22]);
    expect(s.timestampTcpSetup).toBe(946681203);
    expect(s.via).toBeNull();
    expect(s.transportProtocol).toBe("tcp");
    expect(flow.clientConn).toBe(c); // one wrapper per dict

    s.sni = "example.com";
    s.address = ["example.com", 443];
    s.timestampStart = 1700000000;
    const server = record!.top().get("server_conn") as TDict;
    expect(server.get("sni")).toBe("example.com");
    expect(server.get("address")).toEqual(["example.com", 443]);
    expect(server.get("timestamp_start")).toEqual(new PyFloat(1700000000));
  });

  it.runIf(v17Migrates())("connections of a v17 flow are read after promotion to v21", async () => {
    const records = await readRecords(REAL_V17);
    const flow = flowFromState(records[9]!);
    expect(flow.serverConn.tlsVersion).toBe("TLSv1.3");
    expect(flow.serverConn.alpn).toEqual(Buffer.from("http/1.1"));
    expect(records[9]!.version).toBe(21);
  });
});

  it("clientPeername and serverAddress read the stored version and agree with the promoted connections", async () => {
    let compared = 0;
    for (const file of allMitmFiles()) {
      const rel = relative(testdata(""), file);
      let records: Awaited<ReturnType<typeof readRecords>>;
      try {
        records = await readRecords(rel);
      } catch {
        continue; // files of unreadable versions are tested elsewhere
      }
      for (const record of records) {
        if (!isReadableVersion(record.storedVersion)) continue;
        const flow = flowFromState(record);
        const stored = record.version;
        const peer = flow.clientPeername;
        const address = flow.serverAddress;
        expect(record.version, `${rel}: read without promotion`).toBe(stored);
        expect(peer, rel).toEqual(flow.clientConn.peername);
        expect(address, rel).toEqual(flow.serverConn.address);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(50);
  });

describe("HTTP flows", () => {
  it("response can be replaced by a made one, or removed", async () => {
    const [record] = await readRecords(REAL_V17);
    const flow = flowFromState(record!) as HTTPFlow;
    const answer = Response.make(503, "busy", { "Content-Type": "text/plain" });
    flow.response = answer;
    expect(flow.response).toBe(answer);
    const back = decode(encode(record!.top())) as TDict;
    const resp = back.get("response") as TDict;
    expect(resp.get("status_code")).toBe(503);
    expect(resp.get("reason")).toEqual(Buffer.from("Service Unavailable"));
    expect(resp.get("content")).toEqual(Buffer.from("busy"));
    flow.response = null;
    expect(record!.top().get("response")).toBeNull();
  });

  it("WebSocket messages", async () => {
    const records = await readRecords(REAL_V17);
    const flow = flowFromState(records[14]!) as HTTPFlow;
    const ws = flow.websocket!;
    const msgs = ws.messages;
    expect(msgs.map((m) => [m.type, m.fromClient, m.content.toString("hex")])).toEqual([
      [1, true, Buffer.from("hello ws").toString("hex")],
      [1, false, Buffer.from("hello ws").toString("hex")],
      [2, false, "0001ff"],
    ]);
    expect(msgs[0]!.text).toBe("hello ws");
    expect(() => msgs[2]!.text).toThrow(TypeError);
    expect(msgs[0]!.timestamp).toBe(1795234479.5333319);
    expect([msgs[0]!.dropped, msgs[0]!.injected]).toEqual([false, false]);
    expect(ws.closeCode).toBe(1000);
    msgs[0]!.text = "changed";
    expect(flow.websocket!.messages[0]!.content.toString()).toBe("changed");

    const v21 = flowFromState((await readRecords(TFLOW_V21))[2]!) as HTTPFlow;
    expect(v21.websocket!.closedByClient).toBe(false);
    expect(v21.websocket!.closeReason).toBe("");
    expect(v21.websocket!.timestampEnd).toBe(946681205);
  });
});

describe("TCP, UDP and DNS flows", () => {
  it("TCP messages", async () => {
    const flow = flowFromState((await readRecords(REAL_V17))[13]!) as TCPFlow;
    expect(flow).toBeInstanceOf(TCPFlow);
    expect(flow.messages.map((m) => [m.fromClient, m.content.toString("latin1")])).toEqual([
      [false, "SERVER-HELLO\n"],
      [true, "ping-1\n"],
      [false, "echo:ping-1\n"],
      [true, "\x00\x01\x02binary\xff"],
      [false, "echo:\x00\x01\x02binary\xff"],
    ]);
    flow.messages[1]!.content = Buffer.from("PING");
    expect(flow.messages[1]!.content.toString()).toBe("PING");
  });

  it("UDP and DNS flows of a v21 file", async () => {
    const records = await readRecords(TFLOW_V21);
    const udp = flowFromState(records[4]!);
    expect(udp).toBeInstanceOf(UDPFlow);
    expect(udp).not.toBeInstanceOf(TCPFlow);
    expect((udp as UDPFlow).messages.map((m) => m.timestamp)).toEqual([946681204.2, 946681204.5]);
    const dns = flowFromState(records[5]!) as DNSFlow;
    expect(dns).toBeInstanceOf(DNSFlow);
    expect(dns.request.id).toBe(42);
    expect(dns.request.query).toBe(true);
    expect(dns.request.recursionDesired).toBe(true);
    expect(dns.request.questions).toEqual([{ name: "dns.google", type: 1, class: 1 }]);
    expect(dns.response!.answers.map((a) => [a.name, a.ttl, [...a.data]])).toEqual([
      ["dns.google", 32, [8, 8, 8, 8]],
      ["dns.google", 32, [8, 8, 4, 4]],
    ]);
    expect(dns.clientConn.transportProtocol).toBe("udp");
  });

  it("an unknown flow type is a schema error", () => {
    const state = new DetachedState(
      new Map([
        ["version", 21],
        ["type", "bogus"],
      ]) as TDict,
    );
    expect(() => flowFromState(state)).toThrow(FlowStateError);
  });
});

describe("copy()", () => {
  it("gives a detached v21 flow of the same class with a new id, sharing nothing", async () => {
    const [record] = await readRecords(TFLOW_V21);
    const flow = flowFromState(record!) as HTTPFlow;
    const copy = flow.copy();
    expect(copy).toBeInstanceOf(HTTPFlow);
    expect(copy.state).toBeInstanceOf(DetachedState);
    expect(copy.state.version).toBe(21);
    expect(copy.id).not.toBe(flow.id);
    expect(copy.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(copy.clientConn.id).toBe(flow.clientConn.id); // connections keep their ids, as in mitmproxy
    copy.response!.headers.set("x-copy", "1");
    copy.request.content![0] = 0x43;
    expect(flow.response!.headers.has("x-copy")).toBe(false);
    expect(flow.request.content!.toString()).toBe("content");
    // The copy encodes to the original apart from the id and the change.
    const orig = decodeShallowDict(record!.raw.bytes);
    const copied = decodeShallowDict(encode(copy.state.top()));
    expect([...copied.keys()]).toEqual([...orig.keys()]);
  });

  it.runIf(v17Migrates())("of a v17 flow migrates the copy to v21 and leaves the original at v17", async () => {
    const records = await readRecords(REAL_V17);
    const flow = flowFromState(records[1]!) as HTTPFlow;
    const copy = flow.copy();
    expect(copy.state.version).toBe(21);
    expect(records[1]!.version).toBe(17);
    expect(copy.response!.text).toBe(flow.response!.text);
    expect(copy.serverConn).toBeDefined();
  });
});
