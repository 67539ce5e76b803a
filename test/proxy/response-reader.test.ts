/** The lean HTTP/1 response reader and request writer the proxy uses upstream (RFC 9112). */
import { describe, expect, it } from "vitest";
import type { HeaderPair } from "../../src/proxy/exchange.js";
import { type ResponseHead, ResponseReader, ResponseSyntaxError } from "../../src/proxy/http/response-reader.js";
import { serializeRequest } from "../../src/proxy/http/upstream-call.js";

/** Feeds `wire` in pieces of `step` bytes; returns what the reader reported. */
function read(wire: string | Buffer, opts: { method?: string; step?: number; closeAtEnd?: boolean } = {}) {
  const out = { head: null as ResponseHead | null, body: [] as Buffer[], trailers: undefined as HeaderPair[] | null | undefined };
  const r = new ResponseReader(opts.method ?? "GET", {
    head: (h) => (out.head = h),
    body: (c) => out.body.push(Buffer.from(c)),
    end: (t) => (out.trailers = t),
  });
  const bytes = Buffer.isBuffer(wire) ? wire : Buffer.from(wire, "latin1");
  const step = opts.step ?? bytes.length;
  for (let i = 0; i < bytes.length; i += step) r.push(bytes.subarray(i, i + step));
  const closedOk = opts.closeAtEnd ? r.close() : undefined;
  return { ...out, body: Buffer.concat(out.body).toString("latin1"), done: r.done, reusable: r.reusable, closedOk };
}

describe("ResponseReader", () => {
  it("reads a Content-Length response, fed byte by byte, headers as sent", () => {
    const r = read("HTTP/1.1 200 OK\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 5\r\n\r\nhello", { step: 1 });
    expect(r.head!.statusCode).toBe(200);
    expect(r.head!.reason.toString()).toBe("OK");
    expect(r.head!.wire).toEqual(["X-A", "1", "x-a", "2", "Content-Length", "5"]);
    expect(r.body).toBe("hello");
    expect(r.done).toBe(true);
    expect(r.reusable).toBe(true);
  });

  it("de-chunks, with extensions and trailers", () => {
    const wire = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n";
    for (const step of [1, 3, 1000]) {
      const r = read(wire, { step });
      expect(r.body).toBe("hello world");
      expect(r.trailers!.map(([n, v]) => `${n}: ${v}`)).toEqual(["X-Trailer: yes"]);
      expect(r.done).toBe(true);
    }
  });

  it("has no body for HEAD, 204 and 304, and skips interim 1xx responses", () => {
    expect(read("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", { method: "HEAD" })).toMatchObject({ body: "", done: true });
    expect(read("HTTP/1.1 204 No Content\r\n\r\n")).toMatchObject({ body: "", done: true });
    expect(read("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n")).toMatchObject({ body: "", done: true });
    const r = read("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
    expect(r.head!.statusCode).toBe(201);
    expect(r.body).toBe("ok");
  });

  it("reads to the close without framing, and says the connection is spent", () => {
    const r = read("HTTP/1.0 200 OK\r\n\r\nuntil the end", { closeAtEnd: true });
    expect(r.body).toBe("until the end");
    expect(r.closedOk).toBe(true);
    expect(r.reusable).toBe(false);
  });

  it("keeps connections alive per RFC 9112 §9.3", () => {
    expect(read("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").reusable).toBe(false);
    expect(read("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").reusable).toBe(false);
    expect(read("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").reusable).toBe(true);
  });

  it("reports a response cut short, and malformed ones", () => {
    const cut = read("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", { closeAtEnd: true });
    expect(cut.closedOk).toBe(false);
    expect(() => read("HTTP/1.1 OK\r\n\r\n")).toThrow(ResponseSyntaxError);
    expect(() => read("HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n")).toThrow(ResponseSyntaxError);
    expect(() => read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")).toThrow(ResponseSyntaxError);
  });
});

describe("serializeRequest", () => {
  it("writes the fields as given and frames the body as they say", () => {
    const plain = Buffer.concat(serializeRequest("POST", "/x", "HTTP/1.1", ["Host", "h", "content-length", "3"], Buffer.from("abc")));
    expect(plain.toString()).toBe("POST /x HTTP/1.1\r\nHost: h\r\ncontent-length: 3\r\n\r\nabc");
    const chunked = Buffer.concat(serializeRequest("PUT", "/y", "HTTP/1.1", ["Transfer-Encoding", "chunked"], Buffer.from("hello")));
    expect(chunked.toString()).toBe("PUT /y HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    const unframed = Buffer.concat(serializeRequest("POST", "/z", "HTTP/1.1", ["Host", "h"], Buffer.from("ab")));
    expect(unframed.toString()).toBe("POST /z HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nab");
    expect(Buffer.concat(serializeRequest("GET", "/", "HTTP/1.0", [], null)).toString()).toBe("GET / HTTP/1.0\r\n\r\n");
  });
});
