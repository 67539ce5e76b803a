/** The small wire parsers of the proxy: ClientHello, WebSocket frames, request targets, modes. */
import { connect as tlsConnect } from "node:tls";
import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { clientHelloLength, looksLikeTls, parseClientHello } from "../../src/proxy/tls/client-hello.js";
import { parseProxyMode } from "../../src/proxy/proxy-mode.js";
import { parseAbsoluteTarget, parseAuthority } from "../../src/proxy/http/request-target.js";
import { FrameReader, MessageAssembler, Opcode, encodeFrame, parseClose } from "../../src/proxy/websocket/websocket-frames.js";

/** The first bytes a Node TLS client sends. */
async function clientHelloOf(opts: { servername?: string; ALPNProtocols?: string[] }): Promise<Buffer> {
  return new Promise((resolve) => {
    const server = createServer((s) => {
      let buf = Buffer.alloc(0);
      s.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const need = clientHelloLength(buf);
        if (need && buf.length >= need) {
          resolve(buf);
          s.destroy();
          server.close();
        }
      });
    }).listen(0, "127.0.0.1", () => {
      const port = (server.address() as import("node:net").AddressInfo).port;
      tlsConnect({ host: "127.0.0.1", port, ...opts }).on("error", () => {});
    });
  });
}

describe("ClientHello", () => {
  it("reads SNI and ALPN offers", async () => {
    const hello = await clientHelloOf({ servername: "example.com", ALPNProtocols: ["h2", "http/1.1"] });
    expect(looksLikeTls(hello)).toBe(true);
    const parsed = parseClientHello(hello)!;
    expect(parsed.sni).toBe("example.com");
    expect(parsed.alpnOffers.map(String)).toEqual(["h2", "http/1.1"]);
  });

  it("has no SNI for IP literals", async () => {
    const parsed = parseClientHello(await clientHelloOf({}))!;
    expect(parsed.sni).toBeNull();
    expect(parsed.alpnOffers).toEqual([]);
  });

  it("tells plain HTTP from TLS and survives garbage", () => {
    expect(looksLikeTls(Buffer.from("GET / HTTP/1.1\r\n"))).toBe(false);
    expect(parseClientHello(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 0x01, 0xff]))).toBeNull();
    expect(clientHelloLength(Buffer.from([0x16, 0x03]))).toBe(0);
  });
});

describe("WebSocket frames", () => {
  it("round-trips masked and unmasked frames of every length class, fed byte by byte", () => {
    for (const len of [0, 5, 125, 126, 65535, 65536, 200_000]) {
      const payload = Buffer.alloc(len, 0x61);
      for (const mask of [false, true]) {
        const raw = encodeFrame(Opcode.BINARY, payload, mask);
        const reader = new FrameReader();
        const frames = [];
        const step = len > 1000 ? 4096 : 1;
        for (let i = 0; i < raw.length; i += step) frames.push(...reader.push(raw.subarray(i, i + step)));
        expect(frames).toHaveLength(1);
        expect(frames[0]!.payload.equals(payload)).toBe(true);
        expect(frames[0]!.raw.equals(raw)).toBe(true);
        expect(frames[0]!.fin).toBe(true);
      }
    }
  });

  it("reassembles fragmented messages around control frames", () => {
    const reader = new FrameReader();
    const bytes = Buffer.concat([
      encodeFrame(Opcode.TEXT, Buffer.from("hel"), true, false),
      encodeFrame(Opcode.PING, Buffer.from("p"), true),
      encodeFrame(Opcode.CONTINUATION, Buffer.from("lo"), true, true),
      encodeFrame(Opcode.CLOSE, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]), true),
    ]);
    const frames = reader.push(bytes);
    const asm = new MessageAssembler();
    expect(asm.add(frames[0]!)).toBeNull();
    expect(frames[1]!.opcode).toBe(Opcode.PING);
    expect(asm.add(frames[2]!)).toEqual({ opcode: Opcode.TEXT, content: Buffer.from("hello") });
    expect(parseClose(frames[3]!.payload)).toEqual({ code: 1000, reason: "bye" });
  });
});

describe("request targets and modes", () => {
  it("parses absolute-form targets as mitmproxy does", () => {
    expect(parseAbsoluteTarget("http://Example.com:8080/a?b")).toMatchObject({ scheme: "http", host: "example.com", port: 8080, path: "/a?b" });
    expect(parseAbsoluteTarget("HTTPS://h")).toMatchObject({ scheme: "https", host: "h", port: 443, path: "/" });
    expect(parseAbsoluteTarget("http://[::1]:81?q")).toMatchObject({ host: "::1", port: 81, path: "/?q" });
    expect(parseAbsoluteTarget("/origin-form")).toBeNull();
    expect(parseAbsoluteTarget("ftp://h/")).toBeNull();
    expect(parseAuthority("h:99999", 80)).toBeNull();
  });

  it("parses -m specs", () => {
    expect(parseProxyMode("regular")).toEqual({ kind: "regular", spec: "regular" });
    expect(parseProxyMode("reverse:https://api.example")).toMatchObject({ kind: "reverse", target: { scheme: "https", host: "api.example", port: 443 } });
    expect(parseProxyMode("upstream:http://127.0.0.1:3128")).toMatchObject({ kind: "upstream", proxy: { host: "127.0.0.1", port: 3128 } });
    expect(parseProxyMode("socks5")).toEqual({ kind: "socks5", spec: "socks5" });
    expect(() => parseProxyMode("socks4")).toThrow(/invalid mode/);
    expect(() => parseProxyMode("reverse:nonsense")).toThrow(/invalid mode/);
  });
});
