/**
 * The JSON line's connections, written straight from the stored dicts of each format version
 * (jsonl-stored-connections.ts), against flowToJson, which reads them through the migrated
 * v21 Client and Server: the same line for every flow of every version, and the same error
 * (code and offset) where the connections are damaged or not what the migration accepts.
 */
import { describe, expect, it } from "vitest";
import { RawElement, type TDict, decode, encode } from "../../../src/format/tnetstring.js";
import { allMitmFiles } from "../../helpers.js";
import { type Edit, bothWays, edited, firstFlow, withVersion, writtenAt } from "./jsonl-reference.js";

const V17 = "captures/tflow-v17.mitm";
const V21 = "captures/tflow-v21.mitm";

describe("JSON lines' connections from the stored dicts", () => {
  const files = allMitmFiles().map((f) => [f.split("/testdata/")[1]!, f] as const);

  it.each(files)("%s at versions 17 to 21: the encoder's lines are flowToJsonLine's", async (_n, file) => {
    for (const version of [17, 18, 19, 20, 21] as const) {
      const bytes = await writtenAt(file, version);
      const { encoded, reference } = await bothWays(bytes);
      expect(encoded, `${file} at ${version}`).toEqual(reference);
    }
  });

  const host = (name: string): Buffer => Buffer.from(`${name}-\xe9\xff`, "latin1");
  const edits: [string, string, Edit][] = [
    ["v17 bytes hosts in every address", V17, (_f, c, s) => {
      c.set("address", [host("client"), 1234]);
      c.set("sockname", [host("local"), 8080]);
      s.set("address", [host("server"), 443]);
      s.set("ip_address", [host("ip"), 443]);
      s.set("source_address", [host("source"), 5555]);
    }],
    ["v21 bytes hosts in every address", V21, (_f, c, s) => {
      c.set("peername", [host("client"), 1234]);
      s.set("address", [host("server"), 443]);
      s.set("sockname", [host("source"), 5555, 0, 0]);
    }],
    ["v17 IPv6 addresses with flow info", V17, (_f, c, s) => {
      c.set("address", ["::1", 1234, 0, 0]);
      s.set("ip_address", ["fe80::1", 443, 0, 3]);
    }],
    ["v17 sni true (7.0 dev files)", V17, (_f, _c, s) => s.set("sni", true)],
    ["v17 sni as bytes", V17, (_f, c, s) => {
      c.set("sni", Buffer.from("bytes.example"));
      s.set("sni", Buffer.from("b\xffd", "latin1"));
    }],
    ["v17 QUIC", V17, (_f, c, s) => {
      c.set("tls_version", "QUIC");
      s.set("tls_version", "QUIC");
    }],
    ["v21 QUIC stays QUIC", V21, (_f, c) => c.set("tls_version", "QUIC")],
    ["v17 client without a start", V17, (_f, c) => c.set("timestamp_start", null)],
    ["v17 lists of every kind", V17, (_f, c, s) => {
      c.set("alpn_offers", [Buffer.from("h2"), "http/1.1"]);
      c.set("cipher_list", ["TLS_AES_128_GCM_SHA256", Buffer.from("b\xe9", "latin1")]);
      s.set("certificate_list", [Buffer.from([0x30, 0x82, 0xff]), Buffer.alloc(0)]);
      s.set("alpn", "h2");
      s.set("cipher_list", null);
    }],
    ["v17 numbers of every kind", V17, (_f, c, s) => {
      c.set("timestamp_end", 12n ** 20n);
      s.set("timestamp_tcp_setup", true);
      s.set("timestamp_start", 1.5e300);
    }],
    ["v17 wrong kinds", V17, (_f, c, s) => {
      c.set("id", 7);
      s.set("timestamp_end", "soon");
    }],
    ["v17 a connection that is not a dict", V17, (f) => f.set("server_conn", null)],
    ["v21 a connection that is not a dict", V21, (f) => f.set("client_conn", [1, 2])],
    ["v17 a key that is not text", V17, (_f, c) => c.set(5 as unknown as string, "five")],
    ["v17 transport and proxy mode given", V17, (_f, c) => {
      c.set("transport_protocol", "udp");
      c.set("proxy_mode", "reverse:https://example.com");
    }],
  ];
  const missing = (file: string, side: "client_conn" | "server_conn"): [string, string, Edit][] => {
    const conn = (decode(firstFlow(file)) as TDict).get(side) as TDict;
    return [...conn.keys()].map((k) => [`${file} ${side} without ${String(k)}`, file, (f) => (f.get(side) as TDict).delete(k)]);
  };
  const cases = [
    ...edits,
    ...missing(V17, "client_conn"),
    ...missing(V17, "server_conn"),
    ...missing(V21, "client_conn"),
    ...missing(V21, "server_conn"),
  ];

  // each edited flow also labelled with the other versions: a dict of another version's shape
  // is one more unusual input on which both must agree
  it.each(cases)("%s: the same line, or the same error", async (_n, file, edit) => {
    const changed = edited(file, edit);
    for (const version of [17, 18, 19, 20, 21]) {
      const { encoded, reference } = await bothWays(withVersion(changed, version));
      expect(encoded, `labelled ${version}`).toEqual(reference);
    }
  });

  it("reads a key written twice as the migration does: the later entry wins", async () => {
    const flow = decode(firstFlow(V17)) as TDict;
    const client = encode(flow.get("client_conn")!);
    const colon = client.indexOf(0x3a);
    const payload = client.subarray(colon + 1, client.length - 1);
    const twice = (entry: string, last: boolean): RawElement => {
      const inner = last ? Buffer.concat([payload, Buffer.from(entry)]) : Buffer.concat([Buffer.from(entry), payload]);
      return RawElement.of(Buffer.concat([Buffer.from(`${inner.length}:`), inner, Buffer.from("}")]));
    };
    for (const entry of ["3:tls;4:true!", "2:id;5:other;", "7:address;17:9:10.0.0.1;2:80#]", "5:state;1:x#"]) {
      for (const last of [false, true]) {
        flow.set("client_conn", twice(entry, last));
        const { encoded, reference } = await bothWays(encode(flow));
        expect(encoded, `${entry} ${last ? "after" : "before"} the others`).toEqual(reference);
      }
    }
  });

  it("meets damage anywhere in a v17 connection, as the migration does, and names it the same way", async () => {
    const flow = firstFlow(V17);
    const text = flow.toString("latin1");
    // where the two connection dicts' payloads lie
    const ranges = ["client_conn", "server_conn"].map((name) => {
      const valueAt = text.indexOf(`:${name};`) + name.length + 2;
      const colon = text.indexOf(":", valueAt);
      return [colon + 1, colon + 1 + Number(text.slice(valueAt, colon))] as const;
    });
    const inConnection = (at: number): boolean => ranges.some(([start, end]) => at >= start && at < end);
    // each value of the client and server dicts in turn made undecodable, its length kept, and each key
    const damaged: Buffer[] = [];
    for (const key of ["state", "tls_established", "mitmcert", "via", "via2", "tls_extensions", "id", "timestamp_end"]) {
      for (let at = text.indexOf(`:${key};`); at >= 0; at = text.indexOf(`:${key};`, at + 1)) {
        if (!inConnection(at)) continue;
        const valueAt = at + key.length + 2;
        const colon = text.indexOf(":", valueAt);
        const length = Number(text.slice(valueAt, colon));
        const copy = Buffer.from(flow);
        copy[colon + 1 + length] = 0x3f; // an unknown type tag
        damaged.push(copy);
        const intKey = Buffer.from(flow);
        intKey[valueAt - 1] = 0x23; // the key an int, which its letters are not
        damaged.push(intKey);
      }
    }
    expect(damaged.length).toBeGreaterThan(8);
    for (const bytes of damaged) {
      const { encoded, reference } = await bothWays(bytes);
      expect(reference[0], "the damage is met").toMatch(/^error E_FLOW_CORRUPT/);
      expect(encoded).toEqual(reference);
    }
  });
});
