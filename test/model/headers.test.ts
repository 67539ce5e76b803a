import { describe, expect, it } from "vitest";
import { DictIndex, IndexedDict, RawElement, encode, type TDict } from "../../src/format/tnetstring.js";
import { Headers } from "../../src/model/headers.js";

const raw = (pairs: [string, string][]) => pairs.map(([n, v]) => [Buffer.from(n, "latin1"), Buffer.from(v, "latin1")]);

describe("Headers", () => {
  // Expected values below were printed by mitmproxy 8.1.1's http.Headers.
  const sample = () =>
    new Headers([
      ["Host", "a"],
      ["Accept", "x"],
      ["accept", "y"],
      ["X", "1"],
      ["ACCEPT", "z"],
    ]);

  it("looks names up case-insensitively and folds repeats with ', '", () => {
    const h = sample();
    expect(h.get("accept")).toBe("x, y, z");
    expect(h.get("ACCEPT")).toBe("x, y, z");
    expect(h.getAll("Accept")).toEqual(["x", "y", "z"]);
    expect(h.get("missing")).toBeUndefined();
    expect(h.getAll("missing")).toEqual([]);
    expect(h.has("host")).toBe(true);
    expect(h.has("nope")).toBe(false);
  });

  it("counts distinct names as size and fields as length, keys in first-seen case", () => {
    const h = sample();
    expect(h.size).toBe(3);
    expect(h.length).toBe(5);
    expect([...h.keys()]).toEqual(["Host", "Accept", "X"]);
  });

  it("iterates every field with its original case and order", () => {
    expect([...sample()]).toEqual([
      ["Host", "a"],
      ["Accept", "x"],
      ["accept", "y"],
      ["X", "1"],
      ["ACCEPT", "z"],
    ]);
    expect([...sample().entries()]).toEqual([...sample()]);
    expect([...sample().values()]).toEqual(["a", "x", "y", "1", "z"]);
  });

  it("set replaces all occurrences, keeping the first one's place and case", () => {
    const h = sample();
    h.set("accept", "new");
    expect(h.fields.map(([n, v]) => [n.toString(), v.toString()])).toEqual([
      ["Host", "a"],
      ["Accept", "new"],
      ["X", "1"],
    ]);
  });

  it("set appends a missing header with the name as given", () => {
    const h = sample();
    h.set("newheader", "foo");
    expect([...h].at(-1)).toEqual(["newheader", "foo"]);
  });

  it("setAll reuses places in order and appends the rest", () => {
    const h = new Headers([
      ["Host", "a"],
      ["Accept", "new"],
      ["X", "1"],
    ]);
    h.setAll("x", ["a", "b", "c"]);
    expect([...h]).toEqual([
      ["Host", "a"],
      ["Accept", "new"],
      ["X", "a"],
      ["x", "b"],
      ["x", "c"],
    ]);
  });

  it("add, insert and delete", () => {
    const h = sample();
    h.add("Set-Cookie", "a=1").add("set-cookie", "b=2");
    expect(h.getAll("set-cookie")).toEqual(["a=1", "b=2"]);
    h.insert(0, "First", "1");
    expect([...h][0]).toEqual(["First", "1"]);
    expect(h.delete("ACCEPT")).toBe(true);
    expect(h.delete("accept")).toBe(false);
    expect(h.has("accept")).toBe(false);
    expect(h.length).toBe(5);
  });

  it("refuses CR and LF in names and values", () => {
    const h = new Headers();
    expect(() => h.set("X", "a\r\nInjected: 1")).toThrow(TypeError);
    expect(() => h.add("X\n", "a")).toThrow(TypeError);
    expect(() => h.set("X", Buffer.from("a\rb"))).toThrow(TypeError);
    expect(() => new Headers({ "X-A": "b\n" })).toThrow(TypeError);
    expect(h.length).toBe(0);
  });

  it("decodes bytes as UTF-8 with surrogateescape and encodes them back", () => {
    const h = Headers.over([
      [Buffer.from("A"), Buffer.from("café")],
      [Buffer.from("B"), Buffer.from([0xff, 0xfe])],
      [Buffer.from("C"), Buffer.from([0xe2, 0x82, 0x41])],
    ]);
    expect(h.get("a")).toBe("café");
    expect(h.get("b")).toBe("\udcff\udcfe");
    expect(h.get("c")).toBe("\udce2\udc82A");
    h.set("B", h.get("B")!); // round trip through text is lossless
    expect(h.fields[1]![1]).toEqual(Buffer.from([0xff, 0xfe]));
    h.set("D", "€");
    expect(h.fields[3]![1]).toEqual(Buffer.from("€", "utf8"));
  });

  it("is a live view: edits land in the state's list", () => {
    const list = raw([["Content-Type", "text/plain"]]);
    const h = Headers.over(list);
    h.set("content-type", "text/html");
    h.add("X-New", "1");
    expect(list).toHaveLength(2);
    expect(list[0]![0]).toEqual(Buffer.from("Content-Type"));
    expect(list[0]![1]).toEqual(Buffer.from("text/html"));
    expect(list[1]).toEqual([Buffer.from("X-New"), Buffer.from("1")]);
  });

  it("builds from pairs, objects and other headers, and writes the wire block", () => {
    const h = new Headers({ Host: "example.com", "Content-Type": "text/plain" });
    expect(h.toBytes().toString()).toBe("Host: example.com\r\nContent-Type: text/plain\r\n");
    const copy = new Headers(h);
    copy.set("host", "other");
    expect(h.get("host")).toBe("example.com");
    expect(new Headers().toBytes().length).toBe(0);
    expect(JSON.parse(JSON.stringify(h))).toEqual([
      ["Host", "example.com"],
      ["Content-Type", "text/plain"],
    ]);
  });

  describe("over a stored list not yet decoded", () => {
    const fields = raw([
      ["Host", "a"],
      ["Accept", "x"],
      ["accept", "y"],
      ["X-Caf\xc3\xa9", "\xc3\xa9t\xc3\xa9"],
    ]);
    const stored = (list: unknown[]): TDict => new IndexedDict(new DictIndex(encode(new Map([["headers", list as never]]))));

    it("looks names up in the bytes, leaving the list undecoded", () => {
      const state = stored(fields);
      const h = Headers.overEntry(state, "headers", "request");
      expect(h.get("ACCEPT")).toBe("x, y");
      expect(h.getAll("host")).toEqual(["a"]);
      expect(h.get("x-café")).toBe("été");
      expect(h.has("accept") && !h.has("missing")).toBe(true);
      expect(h.get("missing")).toBeUndefined();
      expect((state as IndexedDict).peek("headers")).toBeInstanceOf(RawElement);
    });

    it("sets and adds fields in the bytes, leaving the list undecoded", () => {
      const state = stored(fields);
      const h = Headers.overEntry(state, "headers", "request");
      h.set("HOST", "b");
      h.add("X-New", "1");
      h.setAll("accept", ["p", "q", "r"]);
      expect((state as IndexedDict).peek("headers")).toBeInstanceOf(RawElement);
      expect(h.get("host")).toBe("b");
      expect([...Headers.overEntry(state, "headers", "request")]).toEqual([
        ["Host", "b"],
        ["Accept", "p"],
        ["accept", "q"],
        ["X-Café", "été"],
        ["X-New", "1"],
        ["accept", "r"],
      ]);
    });

    it("deletes fields in the bytes, and leaves the list as read when no field has the name", () => {
      const state = stored(fields);
      const before = (state as IndexedDict).peek("headers") as RawElement;
      const h = Headers.overEntry(state, "headers", "request");
      expect(h.delete("missing")).toBe(false);
      const after = (state as IndexedDict).peek("headers") as RawElement;
      expect([after.source, after.start, after.end], "nothing removed: the very bytes read").toEqual([before.source, before.start, before.end]);
      expect(after.source === before.source, "not a rewritten copy").toBe(true);
      expect(h.delete("ACCEPT")).toBe(true);
      expect((state as IndexedDict).peek("headers")).toBeInstanceOf(RawElement);
      expect([...Headers.overEntry(state, "headers", "request")]).toEqual([
        ["Host", "a"],
        ["X-Café", "été"],
      ]);
    });

    it("decodes the list into the state for anything else, and edits it there", () => {
      const state = stored(fields);
      const h = Headers.overEntry(state, "headers", "request");
      h.insert(0, "Host", "z");
      expect(Array.isArray(state.get("headers"))).toBe(true);
      h.delete("Host"); // on the decoded list now
      expect(Headers.overEntry(state, "headers", "request").get("host")).toBeUndefined();
      h.set("Host", "b");
      expect(Headers.overEntry(state, "headers", "request").get("host")).toBe("b");
      expect(h.length).toBe(4);
    });

    it("refuses CR and LF before touching the stored bytes", () => {
      const state = stored(fields);
      const h = Headers.overEntry(state, "headers", "request");
      expect(() => h.set("Host", "a\r\nX: y")).toThrow(TypeError);
      expect(() => h.add("X\n", "y")).toThrow(TypeError);
      expect(h.getAll("host")).toEqual(["a"]);
      expect(h.length).toBe(4);
    });

    it("a value set where the bytes cannot be edited gets Buffers of its own, shared with no other flow", () => {
      const plain = stored(fields);
      Headers.overEntry(plain, "headers", "request").set("X-Same", "v"); // edited in the bytes
      const texts = stored([["Host", "a"]]); // not byte pairs: set on the decoded list
      const h = Headers.overEntry(texts, "headers", "request");
      h.set("X-Same", "v");
      const field = h.fields.find(([n]) => n.toString() === "X-Same")!;
      field[1][0] = 0x77; // a script changing the bytes it was handed
      const other = stored(fields);
      Headers.overEntry(other, "headers", "request").set("X-Same", "v");
      expect(Headers.overEntry(other, "headers", "request").get("x-same")).toBe("v");
      expect(Headers.overEntry(plain, "headers", "request").get("x-same")).toBe("v");
      expect(h.get("x-same")).toBe("w");
    });

    it("decodes a list that is not plain byte pairs the usual way", () => {
      const texts = stored([["Host", "a"]]); // text, not bytes: tolerated by the decoding path
      expect(Headers.overEntry(texts, "headers", "request").get("host")).toBe("a");
      const broken = stored([[Buffer.from("Host")]]);
      expect(() => Headers.overEntry(broken, "headers", "request").get("host")).toThrow(/malformed header field/);
      const missing = stored([]);
      missing.delete("headers");
      expect(() => Headers.overEntry(missing, "headers", "request").get("host")).toThrow(/request: expected a list/);
    });
  });
});

