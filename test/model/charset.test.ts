import { describe, expect, it } from "vitest";
import { CharsetError, decodeText, encodeText, inferCharset } from "../../src/model/charset.js";

const b = (s: string) => Buffer.from(s, "latin1");

describe("inferCharset (newest mitmproxy's infer_content_encoding)", () => {
  // Expected values printed by newest mitmproxy's infer_content_encoding (net/http/headers.py).
  it.each([
    ["text/html; charset=ISO-8859-2", "x", "ISO-8859-2"],
    ["text/html", '<html><meta charset="shift_jis"><body>', "shift_jis"],
    ["text/html", "<p>hi</p>", "utf8"],
    ["application/xml", '<?xml version="1.0" encoding="windows-1251"?><a/>', "windows-1251"],
    ["text/xml", "<a/>", "utf8"],
    ["application/javascript", "x", "utf8"],
    ["text/css", '@charset "koi8-r"; body{}', "koi8-r"],
    ["text/css", "body{}", "utf8"],
    ["application/json", "{}", "utf8"],
    ["application/problem+json", "{}", "utf8"],
    ["text/plain", "\xef\xbb\xbfhi", "utf-8-sig"],
    ["text/plain; charset=latin-1", "\xff\xfeh\x00", "utf-16le"],
    ["text/plain", "\xfe\xffh", "utf-16be"],
    ["text/plain", "\xff\xfe\x00\x00", "utf-32le"],
    ["text/plain", "\x00\x00\xfe\xff", "utf-32be"],
    ["text/plain", "abc", "latin-1"],
    ["", "abc", "latin-1"],
    ["text/plain; charset=GBK", "", "gb18030"],
    ["text/plain; charset=gb2312", "", "gb18030"],
    ['text/plain; charset="utf-8"', "", '"utf-8"'],
    ["Application/JSON", "", "latin-1"],
    ["text/plain;charset=utf-8;format=flowed", "", "utf-8"],
  ])("%j with %j -> %s", (ct, content, expected) => {
    expect(inferCharset(ct, b(content))).toBe(expected);
  });
});

describe("decodeText / encodeText (Python codec names)", () => {
  // Expected values printed by Python 3.11's bytes.decode / str.encode.
  it.each([
    ["caf\xc3\xa9", "utf8", "café"],
    ["\xef\xbb\xbfhi", "utf-8-sig", "hi"],
    ["\xff\xfeh\x00i\x00", "utf-16le", "\ufeffhi"],
    ["\xfe\xff\x00h", "utf-16be", "\ufeffh"],
    ["\xff\xfe\x00\x00h\x00\x00\x00", "utf-32le", "\ufeffh"],
    ["caf\xe9\x80", "latin-1", "café\x80"],
    ["\xe1\xe2", "ISO-8859-2", "áâ"],
    ["\x80\x9f", "cp1252", "€Ÿ"],
    ["\xc1\xc2", "koi8-r", "аб"],
    ["\x82\xa0", "shift_jis", "あ"],
    ["\xd6\xd0", "gb18030", "中"],
    ["x", '"utf-8"', "x"],
    ["h\x00i\x00", "utf-16", "hi"],
    ["\xfe\xff\x00h", "utf-16", "h"],
  ])("decodes %j as %s", (bytes, charset, expected) => {
    expect(decodeText(b(bytes), charset)).toBe(expected);
  });

  it("is strict: bad bytes and unknown charsets throw CharsetError", () => {
    expect(() => decodeText(b("\xff"), "utf8")).toThrow(CharsetError);
    expect(() => decodeText(b("x"), "nonsense")).toThrow(CharsetError);
    expect(() => decodeText(b("\xe9"), "ascii")).toThrow(CharsetError);
  });

  it.each([
    ["café", "latin-1", "636166e9"],
    ["€", "cp1252", "80"],
    ["ő", "iso-8859-2", "f5"],
    ["hi", "utf-16", "fffe68006900"],
    ["hi", "utf-16-be", "00680069"],
    ["hi", "utf-32", "fffe00006800000069000000"],
    ["héllo", "utf8", "68c3a96c6c6f"],
  ])("encodes %j as %s", (text, charset, hex) => {
    expect(encodeText(text, charset).toString("hex")).toBe(hex);
  });

  it("refuses characters the charset lacks, and charsets it cannot encode", () => {
    expect(() => encodeText("€", "latin-1")).toThrow(CharsetError);
    expect(() => encodeText("é", "ascii")).toThrow(CharsetError);
    expect(() => encodeText("\udcff", "utf-8")).toThrow(CharsetError);
    expect(() => encodeText("中", "gb18030")).toThrow(CharsetError);
  });
});
