/**
 * Format migrations against the real files in ../shared/testdata:
 *  - every flow of a v17/v18/v20/v21 file survives migrateToNewest → downgradeTo(own version)
 *    → encode byte for byte;
 *  - every readable flow migrates to exactly the v21 key sets and insertion orders of the
 *    real v21 files;
 *  - the compat cases of mitmproxy's own tests (test_compat.py, test_io.py);
 *  (that every file converted to v17 loads in mitmdump 8.1.1 is in test/interop/.)
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { FlowStateError, WriteUnsupportedError } from "../../src/errors.js";
import {
  downgradeTo,
  MigrationContext,
  migrateToNewest,
  type WritableVersion,
} from "../../src/format/migrations/index.js";
import { decode, encode, PyFloat, spanAt, type TDict, type TValue } from "../../src/format/tnetstring.js";

const testdata = fileURLToPath(new URL("../../../shared/testdata/", import.meta.url));

function mitmFiles(dir = testdata): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...mitmFiles(p));
    else if (name.endsWith(".mitm")) out.push(p);
  }
  return out;
}

const rel = (p: string) => p.slice(testdata.length);

/** Each top-level flow element's bytes. */
function splitFlows(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let pos = 0; pos < buf.length; ) {
    const s = spanAt(buf, pos, buf.length + 1);
    out.push(buf.subarray(pos, s.next));
    pos = s.next;
  }
  return out;
}

const flowsOf = (file: string) => splitFlows(readFileSync(file));
const dictOf = (bytes: Buffer) => decode(bytes) as TDict;
const get = (d: TValue | undefined, ...path: string[]): TValue | undefined =>
  path.reduce<TValue | undefined>((v, k) => (v instanceof Map ? v.get(k) : undefined), d);
const keysOf = (d: TValue | undefined) => (d instanceof Map ? [...d.keys()] : []);
const text = (v: TValue | undefined) => (Buffer.isBuffer(v) ? v.toString("latin1") : String(v));

function migrateFile(file: string, ctx = new MigrationContext()): TDict[] {
  return flowsOf(file).map((b) => migrateToNewest(dictOf(b), ctx));
}

const files = mitmFiles();
const readable = files.filter((f) => !f.endsWith("dumpfile-010.mitm"));
const WRITABLE = new Set<TValue>([17, 18, 20, 21]);
/** Files whose flows all carry a version reflow writes: the round-trip set. */
const writableFiles = files.filter((f) => flowsOf(f).every((b) => WRITABLE.has(dictOf(b).get("version")!)));

it("finds the test data", () => {
  expect(files.length).toBeGreaterThanOrEqual(20);
  // 5 v17 captures/v21, 5 v18, 3 v20, 2 v21
  expect(writableFiles.map(rel)).toEqual(
    expect.arrayContaining([
      "captures/real-v17.mitm",
      "captures/real-v17-chunked.mitm",
      "captures/real-v17-incomplete-body.mitm",
      "captures/tflow-v17.mitm",
      "captures/tflow-v21.mitm",
      "mitmproxy-tests/dumpfile-19.mitm",
      "mitmproxy-tests/flows/corrupted_gzip_body.mitm",
      "mitmproxy-tests/flows/diff_data.mitm",
      "mitmproxy-tests/flows/error_log.mitm",
      "mitmproxy-tests/flows/event_stream.mitm",
      "mitmproxy-tests/flows/incomplete_log.mitm",
      "mitmproxy-tests/flows/successful_log.mitm",
      "mitmproxy-tests/flows/websocket.mitm",
    ]),
  );
});

describe("byte-exact round trip at the file's own version", () => {
  it.each(writableFiles.map(rel))("%s", (name) => {
    const ctx = new MigrationContext();
    const flows = flowsOf(join(testdata, name));
    for (const [i, original] of flows.entries()) {
      const flow = dictOf(original);
      const version = flow.get("version") as WritableVersion;
      const written = encode(downgradeTo(migrateToNewest(flow, ctx), version));
      // on mismatch, show where it starts rather than two long buffers
      if (!written.equals(original)) {
        let at = 0;
        while (at < written.length && written[at] === original[at]) at++;
        const around = (b: Buffer) => b.subarray(Math.max(0, at - 60), at + 60).toString("latin1");
        expect.fail(`flow #${i} (v${version}) differs at byte ${at}:\n  read:  ${around(original)}\n  wrote: ${around(written)}`);
      }
    }
  });
});

describe("upgrade to 21", () => {
  /** path → key order, from the real v21 files (written by the newest mitmproxy). */
  const reference = new Map<string, string[]>();
  const record = (v: TValue | undefined, path: string, into: Map<string, string[]>, check?: (p: string, k: string[]) => void) => {
    if (v instanceof Map) {
      if (path.endsWith("metadata")) return; // free-form
      const keys = [...v.keys()].map(String);
      if (check) check(path, keys);
      else into.set(path, keys);
      for (const [k, x] of v) {
        const p = k === "backup" ? path.replace(/[^:]*$/, "") : `${path}.${String(k)}`;
        record(x, p, into, check);
      }
    } else if (Array.isArray(v)) for (const x of v) record(x, `${path}[]`, into, check);
  };
  for (const name of ["captures/tflow-v21.mitm", "mitmproxy-tests/flows/corrupted_gzip_body.mitm"])
    for (const b of flowsOf(join(testdata, name))) {
      const f = dictOf(b);
      record(f, `${String(f.get("type"))}:`, reference);
    }

  it("has reference orders for every flow type", () => {
    for (const t of ["http", "tcp", "udp", "dns"]) expect(reference.has(`${t}:`)).toBe(true);
    expect(reference.get("http:.client_conn")).toContain("proxy_mode");
  });

  it.each(readable.map(rel))("%s has exactly the v21 key sets and orders", (name) => {
    for (const flow of migrateFile(join(testdata, name))) {
      expect(flow.get("version")).toBe(21);
      const type = String(flow.get("type"));
      expect(keysOf(flow)).toEqual(reference.get(`${type}:`));
      let compared = 0;
      record(flow, `${type}:`, new Map(), (path, keys) => {
        const expected = reference.get(path);
        // a path the references lack (a DNS section they leave empty) has the same shape as a sibling they have
        if (expected) {
          expect(keys, path).toEqual(expected);
          compared++;
        }
      });
      expect(compared).toBeGreaterThanOrEqual(3); // at least the top level and both connections
      // what the newest mitmproxy holds after loading: host is text, bodies and WebSocket payloads bytes
      if (type === "http") {
        expect(typeof get(flow, "request", "host")).toBe("string");
        for (const m of (get(flow, "websocket", "messages") ?? []) as TValue[][]) {
          expect(m).toHaveLength(6);
          expect(Buffer.isBuffer(m[2])).toBe(true);
        }
      }
    }
  });

  it("does not change its input", () => {
    const bytes = flowsOf(join(testdata, "mitmproxy-tests/dumpfile-018.mitm"))[0]!;
    const flow = dictOf(bytes);
    migrateToNewest(flow, new MigrationContext());
    expect(encode(flow).equals(bytes)).toBe(true);
  });

  it("migrates backup too (mitmproxy does not)", () => {
    const flows = migrateFile(join(testdata, "captures/tflow-v17.mitm"));
    const withBackup = flows.find((f) => f.get("backup") !== null)!;
    const backup = withBackup.get("backup") as TDict;
    expect(backup.get("version")).toBe(21);
    expect(keysOf(backup)).toEqual(keysOf(withBackup));
    expect(keysOf(backup.get("client_conn"))).toEqual(keysOf(withBackup.get("client_conn")));
    expect(backup.get("backup")).toBeNull();
    expect(text(get(backup, "request", "path"))).toBe("/path");
    for (const f of flows.filter((x) => x !== withBackup)) expect(f.get("backup")).toBeNull();
  });
});

describe("mitmproxy's compat cases", () => {
  const url = (f: TDict) =>
    `${text(get(f, "request", "scheme"))}://${text(get(f, "request", "host"))}:${text(get(f, "request", "port"))}${text(get(f, "request", "path"))}`;

  it("dumpfile-7-websocket: 6 HTTP flows, WebSocket flows merged into their handshakes", () => {
    const flows = migrateFile(join(testdata, "mitmproxy-tests/dumpfile-7-websocket.mitm"));
    expect(flows).toHaveLength(6);
    expect(flows.every((f) => f.get("type") === "http")).toBe(true);
    expect(url(flows[5]!)).toMatch(/^https:\/\/echo\.websocket\.org:443\//);
    // the handshake itself, then its copy carrying the WebSocket (same id)
    expect(flows[0]!.get("websocket")).toBeNull();
    expect(flows[1]!.get("id")).toBe(flows[0]!.get("id"));
    expect(get(flows[1], "metadata", "duplicated")).toMatch(/migrated from an old file format/);
    expect(get(flows[1], "websocket", "closed_by_client")).toBe(true);
    const message = (get(flows[1], "websocket", "messages") as TValue[][])[0]!;
    expect(message).toEqual([1, true, Buffer.from("Rock it with HTML5 WebSocket"), 1612375501, false, false]);
    // the second WebSocket of the same handshake finds it taken: a made-up http://unknown/ flow
    expect(url(flows[2]!)).toBe("http://unknown:80/");
    expect(flows[2]!.get("id")).toBe("bb2e201b-2e25-471d-8cc7-a08f6f311fff");
    expect(get(flows[2], "metadata", "duplicated")).toBeTypeOf("string");
    expect(get(flows[2], "websocket", "messages")).toHaveLength(2);
    expect(flows[4]!.get("id")).toBe(flows[3]!.get("id"));
  });

  it.each([
    ["dumpfile-011.mitm", "https://example.com:443/"],
    ["dumpfile-018.mitm", "https://www.example.com:443/"],
  ])("%s → %s", (name, expected) => {
    const [flow, ...rest] = migrateFile(join(testdata, "mitmproxy-tests", name));
    expect(rest).toHaveLength(0);
    expect(url(flow!)).toBe(expected);
  });

  it("dumpfile-018: a response without timestamps gets request.timestamp_end and +1, as floats", () => {
    const [flow] = migrateFile(join(testdata, "mitmproxy-tests/dumpfile-018.mitm"));
    const end = get(flow, "request", "timestamp_end") as number;
    expect(get(flow, "response", "timestamp_start")).toBe(end);
    expect(get(flow, "response", "timestamp_end")).toBe(end + 1);
    // the old nested `via` connection is gone, via2 (null) took its place
    expect(get(flow, "server_conn", "via")).toBeNull();
  });

  it("dumpfile-019: host webrv.rtb-seller.com, sni and IPv6 peername kept", () => {
    const [flow] = migrateFile(join(testdata, "mitmproxy-tests/dumpfile-019.mitm"));
    expect(get(flow, "request", "host")).toBe("webrv.rtb-seller.com");
    expect(url(flow!)).toMatch(/^https:\/\/webrv\.rtb-seller\.com:443\//);
    expect(get(flow, "client_conn", "peername")).toEqual(["::ffff:127.0.0.1", 53976, 0, 0]);
    expect(get(flow, "client_conn", "proxy_mode")).toBe("regular");
  });

  it("dumpfile-7: server `sni: true` becomes the server address host", () => {
    const [flow] = migrateFile(join(testdata, "mitmproxy-tests/dumpfile-7.mitm"));
    expect(get(flow, "server_conn", "sni")).toBe((get(flow, "server_conn", "address") as TValue[])[0]);
  });

  it("dumpfile-10: marked true → ':default:', null client timestamp_start → 0.0", () => {
    const [flow] = migrateFile(join(testdata, "mitmproxy-tests/dumpfile-10.mitm"));
    expect(flow!.get("marked")).toBe(":default:");
    const start = get(flow, "client_conn", "timestamp_start");
    expect(start).toBeInstanceOf(PyFloat);
    expect(Number(start)).toBe(0);
  });

  it("dumpfile-19: tls_version QUIC → QUICv1", () => {
    const [flow] = migrateFile(join(testdata, "mitmproxy-tests/dumpfile-19.mitm"));
    expect(get(flow, "client_conn", "tls_version")).toBe("QUICv1");
    expect(get(flow, "server_conn", "tls_version")).toBe("QUICv1");
    expect(url(flow!)).toMatch(/^https:\/\/cloudflare-quic\.com:443\//);
  });

  const refusal = (flow: TDict): FlowStateError => {
    try {
      migrateToNewest(flow, new MigrationContext());
    } catch (e) {
      expect(e).toBeInstanceOf(FlowStateError);
      return e as FlowStateError;
    }
    return expect.fail("not refused");
  };

  it("dumpfile-010 is refused, naming version 0.10", () => {
    const e = refusal(dictOf(flowsOf(join(testdata, "mitmproxy-tests/dumpfile-010.mitm"))[0]!));
    expect(e.code).toBe("E_FLOW_VERSION");
    expect(e.message).toContain("0.10");
  });

  it("refuses newer and unknown int versions", () => {
    for (const v of [22, 0, 3]) {
      const e = refusal(new Map<string, TValue>([["version", v], ["type", "http"]]));
      expect(e.code).toBe("E_FLOW_VERSION");
      expect(e.message).toBe(`cannot read files with flow format version ${v}`);
    }
  });

  it("refuses an unknown flow type", () => {
    const e = refusal(new Map<string, TValue>([["type", "unknown"], ["version", 21]]));
    expect(e.code).toBe("E_FLOW_SCHEMA");
    expect(e.message).toMatch(/Unknown flow type/);
  });

  it("reports missing keys and a missing version as schema errors", () => {
    const v21 = dictOf(flowsOf(join(testdata, "mitmproxy-tests/flows/corrupted_gzip_body.mitm"))[0]!);
    const noComment = new Map(v21);
    noComment.delete("comment");
    expect(refusal(noComment).code).toBe("E_FLOW_SCHEMA");
    const noVersion = new Map(v21);
    noVersion.delete("version");
    expect(refusal(noVersion).code).toBe("E_FLOW_SCHEMA");
  });

  it("gives one id to a connection shared by flows of one run (4 → 5 memo on the context)", () => {
    const file = join(testdata, "mitmproxy-tests/dumpfile-011.mitm");
    const ctx = new MigrationContext();
    const [a] = migrateFile(file, ctx);
    const [b] = migrateFile(file, ctx);
    const [c] = migrateFile(file, new MigrationContext());
    expect(get(a, "client_conn", "id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(get(b, "client_conn", "id")).toBe(get(a, "client_conn", "id"));
    expect(get(b, "server_conn", "id")).toBe(get(a, "server_conn", "id"));
    expect(get(c, "client_conn", "id")).not.toBe(get(a, "client_conn", "id"));
  });
});

describe("downgrade", () => {
  const v21Flows = migrateFile(join(testdata, "captures/tflow-v21.mitm"));
  const udp = v21Flows.find((f) => f.get("type") === "udp")!;
  const dns = v21Flows.find((f) => f.get("type") === "dns")!;

  it("refuses UDP at 17 and writes it at 18 and 20", () => {
    expect(() => downgradeTo(udp, 17)).toThrow(WriteUnsupportedError);
    expect(() => downgradeTo(udp, 17)).toThrow(/UDP/);
    expect(downgradeTo(udp, 18).get("version")).toBe(18);
    expect(keysOf(downgradeTo(udp, 18).get("client_conn"))).not.toContain("transport_protocol");
    expect(downgradeTo(udp, 20).get("version")).toBe(20);
  });

  it("puts the DNS timestamp first before v21", () => {
    for (const v of [17, 18, 20] as const) expect(keysOf(get(downgradeTo(dns, v), "request"))[0]).toBe("timestamp");
  });

  it("writes 8.1's float-typed fields as floats", () => {
    const v17 = downgradeTo(v21Flows[0]!, 17);
    expect(v21Flows[0]!.get("timestamp_created")).toBe(946681200);
    expect(v17.get("timestamp_created")).toBeInstanceOf(PyFloat);
  });

  it("keeps v21 backup keys and drops a null backup before v20", () => {
    const flow = v21Flows[0]!;
    expect(keysOf(downgradeTo(flow, 20))).toContain("backup");
    expect(keysOf(downgradeTo(flow, 17))).not.toContain("backup");
    const withBackup = v21Flows.find((f) => f.get("backup") !== null)!;
    const v17 = downgradeTo(withBackup, 17);
    expect(keysOf(v17).at(-1)).toBe("backup");
    expect(get(v17, "backup", "version")).toBe(17);
  });

  it("only takes version 21 flows", () => {
    const v17 = downgradeTo(v21Flows[0]!, 17);
    expect(() => downgradeTo(v17, 18)).toThrow(FlowStateError);
  });
});
