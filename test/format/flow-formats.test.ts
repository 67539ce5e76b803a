/** Telling formats apart by their first bytes, and choosing the output format. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { MSGPACK_MAGIC, detectFormat, outputFormat } from "../../src/format/flow-formats.js";
import { fixtures, testdata } from "../helpers.js";

describe("detectFormat", () => {
  const har = (name: string) => readFileSync(join(testdata, "mitmproxy-tests", "har_files", name));
  it("tells each format from its first bytes", () => {
    expect(detectFormat(readFileSync(join(fixtures, "sample.mitm")))).toBe("mitm");
    expect(detectFormat(Buffer.alloc(0))).toBe("mitm");
    expect(detectFormat(har("chrome.har"))).toBe("har");
    expect(detectFormat(har("with-bom.har"))).toBe("har");
    expect(har("with-bom.har")[0]).toBe(0xef);
    expect(detectFormat(deflateSync(har("chrome.har")))).toBe("zhar");
    expect(detectFormat(Buffer.from('{"id": "x", "type": "http"}\n'))).toBe("jsonl");
    expect(detectFormat(Buffer.from('\n  {\n "log": {}}'))).toBe("har");
    expect(detectFormat(MSGPACK_MAGIC)).toBe("msgpack");
    expect(detectFormat(Buffer.from("REFLOW-MSGPACK 9\n"))).toBe("msgpack"); // a later version is named, not misread
    expect(detectFormat(Buffer.from("GIF89a"))).toBeNull();
  });
});

describe("outputFormat", () => {
  it("is the one asked for, else OUT's extension, else mitm", () => {
    expect(outputFormat("a.har")).toBe("har");
    expect(outputFormat("a.ZHAR")).toBe("zhar");
    expect(outputFormat("a.msgpack")).toBe("msgpack");
    expect(outputFormat("a.jsonl")).toBe("jsonl");
    expect(outputFormat("a.flows")).toBe("mitm");
    expect(outputFormat("-")).toBe("mitm");
    expect(outputFormat("a.har", "mitm")).toBe("mitm");
    expect(() => outputFormat("a", "xml")).toThrow();
  });
});
