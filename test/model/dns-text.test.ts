import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readFlows } from "../../src/io/flow-source.js";
import { dnsMessageText, dnsTypeName, recordDataText } from "../../src/model/dns-text.js";
import type { DNSFlow, DNSResourceRecord } from "../../src/model/index.js";
import { testdata } from "../helpers.js";

const record = (type: number, data: Buffer): DNSResourceRecord => ({ name: "x", type, class: 1, ttl: 0, data });

describe("DNS text", () => {
  it("writes a saved DNS flow's question and answers as newest mitmproxy's str()", async () => {
    let dns: DNSFlow | undefined;
    for await (const f of readFlows(join(testdata, "captures", "tflow-v21.mitm")))
      if (f.type === "dns") dns = f as DNSFlow;
    expect(dns, "tflow-v21 has a DNS flow").toBeDefined();
    expect(dnsMessageText(dns!.request)).toBe("dns.google");
    expect(dnsMessageText(dns!.response!)).toBe("dns.google\r\n8.8.8.8\r\n8.8.4.4");
    expect(dns!.request.questions.map((q) => dnsTypeName(q.type))).toEqual(["A"]);
  });

  it("names record types, and TYPEn for those it has no name for (RFC 3597)", () => {
    expect([1, 28, 65, 255, 99].map(dnsTypeName)).toEqual(["A", "AAAA", "HTTPS", "ANY", "TYPE99"]);
  });

  it("reads record data: IPv6 with the longest zero run as ::, names, text, hex for the rest", () => {
    expect(recordDataText(record(28, Buffer.from("20010db8000000000000000000000001", "hex")))).toBe("2001:db8::1");
    expect(recordDataText(record(28, Buffer.from("20010db8000100000001000000000000", "hex")))).toBe("2001:db8:1:0:1::");
    expect(recordDataText(record(5, Buffer.from("\x03www\x07example\x03com\x00", "latin1")))).toBe("www.example.com");
    expect(recordDataText(record(5, Buffer.from("\x09www", "latin1")))).toBe("0x09777777 (invalid CNAME data)");
    expect(recordDataText(record(16, Buffer.from("hello")))).toBe("hello");
    expect(recordDataText(record(1, Buffer.from([1, 2, 3])))).toBe("0x010203 (invalid A data)");
    expect(recordDataText(record(15, Buffer.from([0, 10])))).toBe("0x000a");
  });
});
