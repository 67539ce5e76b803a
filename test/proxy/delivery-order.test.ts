/**
 * The proxy's side of "nothing lost": every response, over HTTP/1 and HTTP/2 alike, is
 * announced to the handler (`responseDelivering`) and written (`deliveriesDue`) before its
 * client has it whole. The handler here only counts a flow as recorded at `deliveriesDue`,
 * so a path that records at the end of the exchange instead (after the client has the
 * response) fails here.
 */
import { type Server, createServer, request as httpRequest, Agent } from "node:http";
import { connect as http2Connect } from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HttpExchange, RequestVerdict, ResponseHeadersVerdict, ResponseVerdict } from "../../src/proxy/exchange.js";
import type { ProxyHandler, TcpSession, WebSocketMessageData } from "../../src/proxy/proxy-handler.js";
import { parseProxyMode } from "../../src/proxy/proxy-mode.js";
import { ProxyServer } from "../../src/proxy/proxy-server.js";

/** Forwards everything; a flow counts as recorded once `deliveriesDue` followed its `responseDelivering`. */
class RecordingHandler implements ProxyHandler {
  private announced: string[] = [];
  readonly recorded = new Set<string>();
  readonly failures: string[] = [];
  readonly internalErrors: unknown[] = [];
  async clientConnected(): Promise<void> {}
  async clientDisconnected(): Promise<void> {}
  async serverConnected(): Promise<void> {}
  async serverDisconnected(): Promise<void> {}
  async request(ex: HttpExchange): Promise<RequestVerdict> {
    return { kind: "forward", request: ex.request };
  }
  async responseHeaders(): Promise<ResponseHeadersVerdict> {
    return { kind: "continue", stream: false };
  }
  async response(ex: HttpExchange): Promise<ResponseVerdict> {
    return { kind: "send", response: ex.response! };
  }
  responseDelivering(ex: HttpExchange): void {
    this.announced.push(`${ex.request.method} ${ex.request.path}`);
  }
  deliveriesDue(): void {
    for (const a of this.announced) this.recorded.add(a);
    this.announced = [];
  }
  async error(ex: HttpExchange): Promise<void> {
    this.failures.push(`${ex.request.path}: ${ex.failure?.code}`);
  }
  async exchangeDone(): Promise<void> {}
  interceptsWebSocketMessages(): boolean {
    return false;
  }
  async websocketMessage(_ex: HttpExchange, m: WebSocketMessageData): Promise<Buffer> {
    return m.content;
  }
  async websocketEnd(): Promise<void> {}
  async tcpStart(_s: TcpSession): Promise<void> {}
  interceptsTcpMessages(): boolean {
    return false;
  }
  async tcpMessage(_s: TcpSession, _fromClient: boolean, data: Buffer): Promise<Buffer> {
    return data;
  }
  async tcpEnd(): Promise<void> {}
}

let origin: Server;
let proxy: ProxyServer;
let port: number;
const handler = new RecordingHandler();

beforeAll(async () => {
  origin = createServer((req, res) => {
    const q = new URL(req.url!, "http://x").searchParams;
    req.resume();
    res.writeHead(Number(q.get("status") ?? 200));
    res.end(req.method === "HEAD" ? undefined : Buffer.alloc(Number(q.get("size") ?? 0), "d"));
  });
  await new Promise<void>((r) => origin.listen(0, "127.0.0.1", r));
  const target = (origin.address() as AddressInfo).port;
  proxy = new ProxyServer(
    {
      host: "127.0.0.1",
      port: 0,
      mode: parseProxyMode(`reverse:http://127.0.0.1:${target}`),
      ca: null,
      insecure: false,
      timeoutMs: 10_000,
      tcpHosts: null,
      ignoreHosts: null,
      onInternalError: (e) => handler.internalErrors.push(e),
    },
    handler,
  );
  port = (await proxy.listen()).port;
});

afterAll(async () => {
  await proxy?.stopAccepting();
  proxy?.destroyAll();
  await new Promise((r) => origin?.close(r));
});

/** Requests of every kind of response: empty, small, larger than one write, bodiless by method or status. */
const cases = (tag: string): { method: string; path: string }[] => [
  ...[0, 10, 1024, 300_000].map((size) => ({ method: "GET", path: `/${tag}/size-${size}?size=${size}` })),
  { method: "HEAD", path: `/${tag}/head?size=50` },
  { method: "GET", path: `/${tag}/no-content?status=204` },
  { method: "POST", path: `/${tag}/not-modified?status=304` },
];

describe("a response reaches its client whole only after its flow was recorded", () => {
  it("over HTTP/2, many streams at once", async () => {
    const session = http2Connect(`http://127.0.0.1:${port}`);
    try {
      const seen = await Promise.all(
        cases("h2").map(
          ({ method, path }) =>
            new Promise<string>((resolve, reject) => {
              const req = session.request({ ":method": method, ":path": path });
              req.on("error", reject);
              req.resume();
              // the moment the client has the response whole
              req.on("end", () => resolve(handler.recorded.has(`${method} ${path}`) ? "recorded" : `${method} ${path} not recorded yet`));
              req.end();
            }),
        ),
      );
      expect(seen).toEqual(cases("h2").map(() => "recorded"));
    } finally {
      session.close();
    }
    expect(handler.failures).toEqual([]);
    expect(handler.internalErrors).toEqual([]);
  });

  it("over HTTP/1.1, kept alive", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    try {
      const seen = await Promise.all(
        cases("h1").map(
          ({ method, path }) =>
            new Promise<string>((resolve, reject) => {
              const req = httpRequest({ host: "127.0.0.1", port, method, path, agent }, (res) => {
                res.resume();
                res.on("end", () => resolve(handler.recorded.has(`${method} ${path}`) ? "recorded" : `${method} ${path} not recorded yet`));
              });
              req.on("error", reject);
              req.end();
            }),
        ),
      );
      expect(seen).toEqual(cases("h1").map(() => "recorded"));
    } finally {
      agent.destroy();
    }
    expect(handler.failures).toEqual([]);
  });
});
