import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { PyFloat } from "../../src/format/tnetstring.js";
import { CharsetError } from "../../src/model/charset.js";
import { decoded } from "../../src/model/decoded.js";
import { ContentEncodingError } from "../../src/model/encoding.js";
import { flowFromState } from "../../src/model/flow-factory.js";
import type { HTTPFlow } from "../../src/model/http-flow.js";
import { Request } from "../../src/model/request.js";
import { Response } from "../../src/model/response.js";
import { readRecords } from "./flow-files.js";

const fields = (r: Request | Response) => [...r.headers];

describe("Message content", () => {
  it("setting content re-encodes with the Content-Encoding and fixes Content-Length", () => {
    const r = Response.make(200, Buffer.from("hello world"), { "Content-Encoding": "gzip" });
    expect(fields(r)).toEqual([
      ["Content-Encoding", "gzip"],
      ["content-length", String(r.rawContent!.length)],
    ]);
    expect(zlib.gunzipSync(r.rawContent!).toString()).toBe("hello world");
    r.content = Buffer.from("a much longer body ".repeat(50));
    expect(zlib.gunzipSync(r.rawContent!).toString()).toBe("a much longer body ".repeat(50));
    expect(r.headers.get("content-length")).toBe(String(r.rawContent!.length));
    expect(r.content!.toString()).toBe("a much longer body ".repeat(50));
  });

  it("keeps Content-Length alone when Transfer-Encoding is present", () => {
    const r = Response.make(200, Buffer.alloc(0), [["Transfer-Encoding", "chunked"]]);
    r.content = Buffer.from("abc");
    expect(r.headers.has("content-length")).toBe(false);
  });

  it("drops an unknown Content-Encoding on set and stores the bytes as they are", () => {
    const r = Response.make(200, Buffer.alloc(0), [["Content-Encoding", "x-unknown"]]);
    r.content = Buffer.from("abc");
    expect(r.headers.has("content-encoding")).toBe(false);
    expect(r.rawContent!.toString()).toBe("abc");
  });

  it("a corrupt gzip body: content throws, getContent(false) gives the raw bytes", async () => {
    const [record] = await readRecords("mitmproxy-tests/flows/corrupted_gzip_body.mitm");
    const resp = (flowFromState(record!) as HTTPFlow).response!;
    expect(resp.headers.get("content-encoding")).toBe("gzip");
    expect(() => resp.content).toThrow(ContentEncodingError);
    expect(() => resp.text).toThrow(ContentEncodingError);
    expect(resp.getContent(false)).toBe(resp.rawContent);
    expect(typeof resp.getText(false)).toBe("string");
  });

  it("null content stays null; empty content is empty", () => {
    const r = Response.make(204);
    expect(r.content!.length).toBe(0);
    expect(r.headers.get("content-length")).toBe("0");
    r.content = null;
    expect(r.rawContent).toBeNull();
    expect(r.content).toBeNull();
    expect(r.text).toBeNull();
  });

  it("decode() stores the decoded body; encode() encodes it; an unknown encoding throws", () => {
    const r = Response.make(200, Buffer.from("hello world"), { "content-encoding": "gzip" });
    r.encode("br");
    expect(r.headers.get("content-encoding")).toBe("br");
    // encode() does not decode first: the gzip bytes are now inside the br stream
    expect(zlib.brotliDecompressSync(r.rawContent!).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    r.decode();
    expect(r.headers.has("content-encoding")).toBe(false);
    expect(zlib.gunzipSync(r.rawContent!).toString()).toBe("hello world");
    expect(r.headers.get("content-length")).toBe(String(r.rawContent!.length));
    expect(() => r.encode("bogus")).toThrow(ContentEncodingError);
    expect(r.headers.has("content-encoding")).toBe(false);
  });

  it("decode() leaves an empty body and its headers alone (newest mitmproxy)", () => {
    const r = Response.make(200, Buffer.alloc(0), { "content-encoding": "gzip" });
    r.rawContent = Buffer.alloc(0);
    r.decode();
    expect(r.headers.get("content-encoding")).toBe("gzip");
  });

  it("json() parses the decoded body and throws on invalid JSON", () => {
    const r = Response.make(200, Buffer.from('{"k": ["vé", 1]}'), { "content-encoding": "zstd" });
    expect(r.json()).toEqual({ k: ["vé", 1] });
    r.content = Buffer.from("nope");
    expect(() => r.json()).toThrow(SyntaxError);
    r.content = null;
    expect(() => r.json()).toThrow(TypeError);
  });
});

describe("decoded(message, fn)", () => {
  it("runs fn on the decoded body and re-encodes with the original coding", async () => {
    const r = Response.make(200, Buffer.from("secret token"), { "content-encoding": "gzip" });
    const n = decoded(r, () => {
      expect(r.headers.has("content-encoding")).toBe(false);
      r.rawContent = Buffer.from(r.rawContent!.toString().replace("secret", "[redacted]"));
      return 1;
    });
    expect(n).toBe(1);
    expect(r.headers.get("content-encoding")).toBe("gzip");
    expect(zlib.gunzipSync(r.rawContent!).toString()).toBe("[redacted] token");
    await decoded(r, async () => {
      r.text = "async";
    });
    expect(r.headers.get("content-encoding")).toBe("gzip");
    expect(r.content!.toString()).toBe("async");
    expect(() =>
      decoded(r, () => {
        throw new Error("boom");
      }),
    ).toThrow("boom");
    expect(r.headers.get("content-encoding")).toBe("gzip");
  });
});

describe("Message text", () => {
  it("reads with the inferred charset", () => {
    const r = Response.make(200, Buffer.from([0x63, 0x61, 0x66, 0xe9]), {
      "content-type": "text/plain; charset=latin-1",
    });
    expect(r.text).toBe("café");
    r.headers.set("content-type", "application/json");
    expect(() => r.text).toThrow(CharsetError); // \xe9 is not UTF-8
    expect(r.getText(false)).toBe("caf\udce9");
    r.headers.set("content-type", "text/html");
    r.content = Buffer.from('<meta charset="iso-8859-2">\xf5', "latin1");
    expect(r.text).toBe('<meta charset="iso-8859-2">ő');
  });

  it("writes in the inferred charset, falling back to UTF-8 and saying so in Content-Type", () => {
    // Printed by mitmproxy: Response.make(404, "héllo €", {"X": "y"})
    const r = Response.make(404, "héllo €", { X: "y" });
    expect(r.reason).toBe("Not Found");
    expect(fields(r)).toEqual([
      ["X", "y"],
      ["content-type", "text/plain; charset=utf-8"],
      ["content-length", "10"],
    ]);
    expect(r.rawContent).toEqual(Buffer.from("héllo €", "utf8"));

    const latin = Response.make(200, "", { "content-type": "text/plain; charset=latin-1" });
    latin.text = "café";
    expect(latin.rawContent).toEqual(Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    latin.text = "€";
    expect(latin.headers.get("content-type")).toBe("text/plain; charset=utf-8");

    const html = Response.make(200, "héllo", { "content-type": "text/html" });
    expect(html.rawContent).toEqual(Buffer.from("héllo", "utf8")); // newest: html defaults to UTF-8
  });
});

describe("Request", () => {
  const base = () => Request.make("GET", "http://address:22/path", Buffer.from("content"), [["header", "qvalue"]]);

  it("make builds a v21-shaped request with the schema's kinds", () => {
    // Newest mitmproxy: the port setter also rewrites Host (here: with the new port).
    const r = Request.make("post", "http://example.com:8080/x?y=1", Buffer.from("body"), { Host: "old" });
    expect(r.method).toBe("POST");
    expect(r.url).toBe("http://example.com:8080/x?y=1");
    expect(fields(r)).toEqual([
      ["Host", "example.com:8080"],
      ["content-length", "4"],
    ]);
    expect([...r.state.keys()]).toEqual([
      "http_version",
      "headers",
      "content",
      "trailers",
      "timestamp_start",
      "timestamp_end",
      "host",
      "port",
      "method",
      "scheme",
      "authority",
      "path",
    ]);
    expect(r.state.get("method")).toEqual(Buffer.from("post"));
    expect(typeof r.state.get("host")).toBe("string");
    expect(r.state.get("port")).toBe(8080);
    expect(Buffer.isBuffer(r.state.get("path"))).toBe(true);
    const ts = r.state.get("timestamp_start");
    expect(typeof ts === "number" || ts instanceof PyFloat).toBe(true);
  });

  it("the url setter sets scheme, host, port and path", () => {
    const r = base();
    r.url = "https://Example.COM:8443/p/a%20th?q=1&q=2#frag";
    expect([r.scheme, r.host, r.port, r.path]).toEqual(["https", "example.com", 8443, "/p/a%20th?q=1&q=2#frag"]);
    expect(r.url).toBe("https://example.com:8443/p/a%20th?q=1&q=2#frag");
    expect(r.prettyUrl).toBe(r.url);
    expect(fields(r)).toEqual([
      ["header", "qvalue"],
      ["content-length", "7"],
    ]);
  });

  it("host and port setters rewrite an existing Host header and the authority", () => {
    const r = base();
    r.headers.set("Host", "address:22");
    r.host = "example.org";
    expect(r.headers.get("host")).toBe("example.org:22");
    r.port = 80;
    expect(r.headers.get("host")).toBe("example.org");
    r.authority = "example.org";
    r.scheme = "https";
    r.port = 8443;
    expect(r.authority).toBe("example.org:8443");
    expect(r.firstLineFormat).toBe("absolute");
    expect(() => {
      r.port = 1.5;
    }).toThrow(TypeError);
  });

  it("prettyHost and prettyUrl prefer the Host header", () => {
    // Printed by mitmproxy: treq(headers=Headers(host="h.example:8080"))
    const r = base();
    r.headers.set("host", "h.example:8080");
    expect(r.prettyUrl).toBe("http://h.example:8080/path");
    expect(r.prettyHost).toBe("h.example");
    expect(r.url).toBe("http://address:22/path");
  });

  it("HTTP/2 uses the authority as its host header; CONNECT shows host:port", () => {
    const r = base();
    r.httpVersion = "HTTP/2.0";
    r.authority = "h2.example:8443";
    expect(r.hostHeader).toBe("h2.example:8443");
    expect(r.prettyUrl).toBe("http://h2.example:8443/path");
    r.method = "CONNECT";
    expect(r.url).toBe("address:22");
    expect(r.prettyUrl).toBe("h2.example:8443");
  });

  it("query edits write back into the path, keeping the fragment", () => {
    const r = base();
    r.path = "/p/a%20th?q=1&q=2#frag";
    expect(r.query.fields).toEqual([
      ["q", "1"],
      ["q", "2"],
    ]);
    r.query.set("q", "z");
    expect(r.path).toBe("/p/a%20th?q=z#frag");
    r.query = [["n", "1 2"]];
    expect(r.path).toBe("/p/a%20th?n=1+2#frag");
    r.query.delete("n");
    expect(r.path).toBe("/p/a%20th#frag");
    r.query.add("é", "&");
    expect(r.path).toBe("/p/a%20th?%C3%A9=%26#frag");
    expect(r.query.get("é")).toBe("&");
  });

  it("cookie edits write back into one Cookie header", () => {
    const r = base();
    r.headers.set("Cookie", "a=1; b=2");
    r.headers.add("Cookie", "c=3");
    expect(r.cookies.fields).toEqual([
      ["a", "1"],
      ["b", "2"],
      ["c", "3"],
    ]);
    r.cookies.set("b", "x y");
    expect(r.headers.getAll("cookie")).toEqual(['a=1; b="x y"; c=3']);
    r.cookies = { only: "one" };
    expect(r.headers.get("cookie")).toBe("only=one");
  });

  it("urlencodedForm reads the body and writes it back with Content-Type and Content-Length", () => {
    const r = base();
    r.content = Buffer.from("a=1&b=%C3%A9&c");
    expect(r.urlencodedForm.fields).toEqual([]); // not a form without the content type
    r.headers.set("content-type", "application/x-www-form-urlencoded");
    expect(r.urlencodedForm.fields).toEqual([
      ["a", "1"],
      ["b", "é"],
      ["c", ""],
    ]);
    r.urlencodedForm.set("a", "2");
    // Printed by mitmproxy: the bare key `c` stays bare because the old body had bare keys.
    expect(r.rawContent!.toString()).toBe("a=2&b=%C3%A9&c");
    expect(r.headers.get("content-length")).toBe("14");
    r.headers.delete("content-type");
    r.urlencodedForm = { x: "1" };
    expect(r.headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    expect(r.rawContent!.toString()).toBe("x=1");
  });

  it("pathComponents", () => {
    const r = base();
    r.path = "/a/b%20c/?q=1";
    expect(r.pathComponents).toEqual(["a", "b c"]);
    r.pathComponents = ["x y", "z/"];
    expect(r.path).toBe("/x%20y/z%2F?q=1");
  });

  it("keeps non-UTF-8 bytes of the request line through text", () => {
    const r = base();
    r.state.set("path", Buffer.from([0x2f, 0xff]));
    expect(r.path).toBe("/\udcff");
    r.path = r.path + "x";
    expect(r.state.get("path")).toEqual(Buffer.from([0x2f, 0xff, 0x78]));
  });
});

describe("Response", () => {
  it("statusCode, reason (ISO-8859-1)", () => {
    const r = Response.make(201);
    expect(r.reason).toBe("Created");
    r.statusCode = 418;
    r.reason = "Café";
    expect(r.state.get("reason")).toEqual(Buffer.from([0x43, 0x61, 0x66, 0xe9]));
    expect(r.state.get("status_code")).toBe(418);
    expect(() => {
      r.reason = "€";
    }).toThrow(TypeError);
    expect(Response.make(299).reason).toBe("");
  });

  it("cookies read Set-Cookie headers as name -> [value, attrs] and write them back", () => {
    const r = Response.make(200, "", [
      ["Set-Cookie", "a=b; Path=/; HttpOnly"],
      ["set-cookie", "c=d"],
    ]);
    const [value, attrs] = r.cookies.get("a")!;
    expect(value).toBe("b");
    expect(attrs.get("path")).toBe("/");
    expect(attrs.has("httponly")).toBe(true);
    attrs.set("Path", "/x");
    r.cookies.set("a", ["new value", attrs]);
    expect(r.headers.getAll("set-cookie")).toEqual(['a="new value"; Path=/x; HttpOnly', "c=d"]);
    r.cookies.delete("c");
    expect(r.headers.getAll("set-cookie")).toEqual(['a="new value"; Path=/x; HttpOnly']);
    r.cookies = [["z", ["1", [["Max-Age", "3"]]]]];
    expect(r.headers.getAll("set-cookie")).toEqual(["z=1; Max-Age=3"]);
  });

  it("timestamps are stored as floats", () => {
    const r = Response.make(200);
    r.timestampStart = 1700000000;
    expect(r.state.get("timestamp_start")).toBeInstanceOf(PyFloat);
    expect(r.timestampStart).toBe(1700000000);
    r.timestampEnd = 1700000000.5;
    expect(r.state.get("timestamp_end")).toBe(1700000000.5);
    r.timestampEnd = null;
    expect(r.timestampEnd).toBeNull();
  });
});
