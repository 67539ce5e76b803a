/** HAR import against mitmproxy's: every file in testdata's har_files/ beside mitmproxy's import of it. */
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { harEntryToFlowState, harTimestamp } from "../../../src/io/formats/har-reader.js";
import { DetachedState, HTTPFlow, type Message } from "../../../src/model/index.js";
import { testdata } from "../../helpers.js";

const harDir = join(testdata, "mitmproxy-tests", "har_files");
const harFiles = readdirSync(harDir)
  .filter((f) => f.endsWith(".har"))
  .sort();

function body(m: Message) {
  const raw = m.rawContent;
  return raw === null
    ? { contentLength: null, contentHash: null }
    : { contentLength: raw.length, contentHash: createHash("sha256").update(raw).digest("hex") };
}

/** The fields of mitmproxy's flow_to_json that a HAR import sets. */
function imported(flow: HTTPFlow) {
  const r = flow.request;
  const s = flow.response!;
  return {
    client_conn: {
      peername: flow.clientConn.peername,
      timestamp_start: flow.clientConn.timestampStart,
      timestamp_end: flow.clientConn.timestampEnd,
    },
    server_conn: { address: flow.serverConn.address },
    request: {
      method: r.method,
      scheme: r.scheme,
      host: r.host,
      port: r.port,
      path: r.path,
      http_version: r.httpVersion,
      headers: [...r.headers],
      ...body(r),
      timestamp_start: r.timestampStart,
      timestamp_end: r.timestampEnd,
    },
    response: {
      http_version: s.httpVersion,
      status_code: s.statusCode,
      reason: s.reason,
      headers: [...s.headers],
      ...body(s),
      timestamp_start: s.timestampStart,
      timestamp_end: s.timestampEnd,
    },
  };
}

function expected(j: any) {
  const pick = (m: any, keys: string[]) => Object.fromEntries(keys.map((k) => [k, m[k]]));
  const common = ["http_version", "headers", "contentLength", "contentHash", "timestamp_start", "timestamp_end"];
  return {
    client_conn: pick(j.client_conn, ["peername", "timestamp_start", "timestamp_end"]),
    server_conn: pick(j.server_conn, ["address"]),
    request: pick(j.request, ["method", "scheme", "host", "port", "path", ...common]),
    response: pick(j.response, ["status_code", "reason", ...common]),
  };
}

describe("HAR import equals mitmproxy's", () => {
  it.each(harFiles)("%s", (name) => {
    const text = readFileSync(join(harDir, name), "utf8").replace(/^\uFEFF/, "");
    const entries = JSON.parse(text).log.entries as unknown[];
    const golden = JSON.parse(readFileSync(join(harDir, name.replace(/\.har$/, ".json")), "utf8")) as any[];
    expect(entries.length, "entry count").toBe(golden.length);
    entries.forEach((entry, i) => {
      const flow = new HTTPFlow(new DetachedState(harEntryToFlowState(entry)));
      expect(imported(flow), `entry #${i}`).toEqual(expected(golden[i]));
    });
  });
});

describe("harTimestamp", () => {
  it("reads offsets and fractions as Python's fromisoformat", () => {
    expect(harTimestamp("1970-01-01T00:00:01.5Z")).toBe(1.5);
    expect(harTimestamp("1970-01-01T01:00:00+01:00")).toBe(0);
    expect(harTimestamp("1970-01-01T00:00:00.1234567Z")).toBe(0.123456);
  });
});
