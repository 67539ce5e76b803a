/** What reaches a terminal: controls, ESC sequences and bidi controls escaped; the listing's own colours kept. */
import { describe, expect, it } from "vitest";
import { TerminalLines, escapeControl, escapeControlKeepingLines, listingMark } from "../../src/display/human.js";
import { ListingSink } from "../../src/display/listing-sink.js";
import { readFlows } from "../../src/io/flow-source.js";
import { join } from "node:path";
import { testdata } from "../helpers.js";

describe("escapeControl", () => {
  it("escapes C0 (ESC, BEL, CR, LF), DEL, C1 and bidi controls; keeps tabs and other text", () => {
    expect(escapeControl("a\x1b]0;t\x07b")).toBe("a\\x1b]0;t\\x07b");
    expect(escapeControl("\r\n\x7f\u009b")).toBe("\\x0d\\x0a\\x7f\\x9b");
    expect(escapeControl("x\u202ey\u2066z\u2069\u200f\u061c")).toBe("x\\u202ey\\u2066z\\u2069\\u200f\\u061c");
    expect(escapeControl("tab\there, ünïcödé, 日本")).toBe("tab\there, ünïcödé, 日本");
  });

  it("tells bytes that were not UTF-8 apart (U+DC80–U+DCFF), and keeps characters outside the BMP whole", () => {
    // a raw byte 0x9B (surrogate-escaped) is not the character U+009B, and a terminal would show both bytes as U+FFFD
    expect(escapeControl("a\udc9bb\udcffc \u009b")).toBe("a\\udc9bb\\udcffc \\x9b");
    expect(escapeControlKeepingLines("x\udc80\ny")).toBe("x\\udc80\ny");
    // U+1F0A1 is the pair D83C DCA1: its low half is no escaped byte
    expect(escapeControl("\u{1f0a1} 😀")).toBe("\u{1f0a1} 😀");
    const lines = new TerminalLines(listingMark());
    expect(lines.safe("\udcff\u{1f0a1}")).toBe("\\udcff\u{1f0a1}");
  });

  it("changes nothing more when applied twice", () => {
    const once = escapeControl("\x1b[2J\u202e");
    expect(escapeControl(once)).toBe(once);
  });

  it("keeps newlines when asked (multi-line messages)", () => {
    expect(escapeControlKeepingLines("one\x1b[2J\ntwo")).toBe("one\\x1b[2J\ntwo");
  });
});

describe("TerminalLines", () => {
  it("turns only its own mark into ESC: the mark's look-alike from a flow stays escaped", () => {
    const mark = listingMark();
    const lines = new TerminalLines(mark);
    expect(lines.safe(`${mark}[1mbold${mark}[0m`)).toBe("\x1b[1mbold\x1b[0m");
    expect(lines.safe("\ue000[2J\x1b]52;c;x\x07")).toBe("\\ue000[2J\\x1b]52;c;x\\x07");
    expect(listingMark()).not.toBe(mark);
  });
});

describe("ListingSink", () => {
  it("reads nothing at detail 0 and lists each flow at detail 1", async () => {
    expect(new ListingSink({ detail: 0 }, { add: () => {}, flush: () => {}, close: () => {} }).reads).toBe("record");
    let text = "";
    const sink = new ListingSink({ detail: 1 }, { add: (t) => (text += t), flush: () => {}, close: () => {} });
    expect(sink.reads).toBe("model");
    for await (const flow of readFlows(join(testdata, "captures", "real-v17.mitm"))) sink.write({ flow });
    expect(text).toContain("GET http://127.0.0.1:28471/gzip");
    expect(text.endsWith("\n")).toBe(true);
  });
});
