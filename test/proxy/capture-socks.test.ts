/**
 * `-m socks5` (RFC 1928, with RFC 1929 username/password under --proxyauth) whose tunnels
 * are intercepted like CONNECT's, and --proxyauth in the HTTP proxy modes (407) and reverse mode (401), with curl.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Listening,
  captureDirs,
  curl,
  httpFlows,
  httpOrigin,
  httpsOrigin,
  killStrayCaptures,
  originCa,
  startCapture,
} from "./capture-harness.js";

const { dir, confdir, proxyCa } = captureDirs("reflow-socks-");
let tls: Awaited<ReturnType<typeof originCa>>;
let secure: Listening<import("node:http").Server>;
let plain: Listening<import("node:http").Server>;

beforeAll(async () => {
  tls = await originCa();
  const echo = (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse): void => {
    req.resume();
    res.end(`${req.url} auth=${req.headers["proxy-authorization"] ?? "none"}`);
  };
  secure = await httpsOrigin(tls.ca, echo);
  plain = await httpOrigin(echo);
});

afterAll(async () => {
  await secure?.close();
  await plain?.close();
  killStrayCaptures();
});

describe("reflow capture -m socks5", () => {
  it("intercepts TLS in SOCKS5 tunnels (domain and IPv4 targets) and relays plain HTTP", async () => {
    const file = join(dir, "socks.mitm");
    const cap = await startCapture(["-m", "socks5", "-w", file, "--confdir", confdir, "-q"], { NODE_EXTRA_CA_CERTS: tls.certFile });
    try {
      const byName = await curl(["--socks5-hostname", `127.0.0.1:${cap.port}`, "--cacert", proxyCa, `https://localhost:${secure.port}/by-name`]);
      expect(byName.stderr).toBe("");
      expect(byName.stdout.toString()).toBe("/by-name auth=none");
      const byIp = await curl(["--socks5", `127.0.0.1:${cap.port}`, `http://127.0.0.1:${plain.port}/by-ip`]);
      expect(byIp.stdout.toString()).toBe("/by-ip auth=none");
    } finally {
      expect((await cap.stop()).code).toBe(0);
    }
    const flows = await httpFlows(file);
    expect(flows.map((f) => f.request.url)).toEqual([`https://localhost:${secure.port}/by-name`, `http://127.0.0.1:${plain.port}/by-ip`]);
    expect(flows[0]!.clientConn.proxyMode).toBe("socks5");
    expect(flows[0]!.clientConn.tls).toBe(true);
    expect(flows[0]!.serverConn.address).toEqual(["localhost", secure.port]);
  });

  it("with --proxyauth, asks for username/password (RFC 1929) and rejects wrong ones", async () => {
    const file = join(dir, "socks-auth.mitm");
    const cap = await startCapture(["-m", "socks5", "--proxyauth", "alice:s3cret", "-w", file, "--confdir", confdir, "-q"]);
    try {
      const ok = await curl(["--socks5-hostname", `alice:s3cret@127.0.0.1:${cap.port}`, `http://127.0.0.1:${plain.port}/authed`]);
      expect(ok.stdout.toString()).toBe("/authed auth=none");
      const bad = await curl(["--socks5-hostname", `alice:wrong@127.0.0.1:${cap.port}`, `http://127.0.0.1:${plain.port}/refused`]);
      // curl's exit code for "the SOCKS5 server rejected the user"
      expect(bad.code).toBe(97);
      const none = await curl(["--socks5-hostname", `127.0.0.1:${cap.port}`, `http://127.0.0.1:${plain.port}/refused`]);
      expect(none.code).not.toBe(0);
    } finally {
      await cap.stop();
    }
    expect((await httpFlows(file)).map((f) => f.request.path)).toEqual(["/authed"]);
  });
});

describe("reflow capture --proxyauth (HTTP proxy)", () => {
  it("answers 407 with Proxy-Authenticate without credentials, relays with them, and does not pass them on", async () => {
    const file = join(dir, "auth.mitm");
    const cap = await startCapture(["--proxyauth", "alice:s3cret", "-w", file, "--confdir", confdir, "-q"], { NODE_EXTRA_CA_CERTS: tls.certFile });
    try {
      const denied = await curl(["-i", "-x", `http://127.0.0.1:${cap.port}`, `http://127.0.0.1:${plain.port}/denied`]);
      expect(denied.stdout.toString()).toMatch(/^HTTP\/1\.1 407 /);
      expect(denied.stdout.toString()).toMatch(/proxy-authenticate: Basic realm="mitmproxy"/i);
      const ok = await curl(["-x", `http://127.0.0.1:${cap.port}`, "-U", "alice:s3cret", `http://127.0.0.1:${plain.port}/allowed`]);
      expect(ok.stdout.toString()).toBe("/allowed auth=none");
      const tunnel = await curl(["-x", `http://127.0.0.1:${cap.port}`, "-U", "alice:s3cret", "--cacert", proxyCa, `https://localhost:${secure.port}/tunnel`]);
      expect(tunnel.stdout.toString()).toBe("/tunnel auth=none");
      const deniedTunnel = await curl(["-x", `http://127.0.0.1:${cap.port}`, "--cacert", proxyCa, `https://localhost:${secure.port}/x`]);
      expect(deniedTunnel.code).not.toBe(0);
    } finally {
      await cap.stop();
    }
    const flows = await httpFlows(file);
    expect(flows.map((f) => f.request.path)).toEqual(["/allowed", "/tunnel"]);
    expect(flows[0]!.request.headers.get("proxy-authorization")).toBeUndefined();
  });
});

describe("reflow capture --proxyauth (reverse mode)", () => {
  it("asks as the server would (401, WWW-Authenticate), on every request, HTTP/1.1 and HTTP/2; Authorization is not passed on", async () => {
    const origin = await httpOrigin((req, res) => {
      req.resume();
      res.end(`${req.url} authorization=${req.headers.authorization ?? "none"}`);
    });
    const file = join(dir, "reverse-auth.mitm");
    const cap = await startCapture(["-m", `reverse:http://127.0.0.1:${origin.port}`, "--proxyauth", "alice:s3cret", "-w", file, "--confdir", confdir, "-q"]);
    const at = (path: string): string => `http://127.0.0.1:${cap.port}${path}`;
    try {
      const denied = await curl(["-i", at("/denied")]);
      expect(denied.stdout.toString()).toMatch(/^HTTP\/1\.1 401 /);
      expect(denied.stdout.toString()).toMatch(/www-authenticate: Basic realm="mitmproxy"/i);
      const ok = await curl(["-u", "alice:s3cret", at("/allowed")]);
      expect(ok.stdout.toString()).toBe("/allowed authorization=none");
      // asked again on the next request of the same connection
      const again = await curl(["-u", "alice:s3cret", "-w", "\n%{http_code}", at("/first"), "--next", "-w", "\n%{http_code} new connections: %{num_connects}", at("/second-without")]);
      expect(again.stdout.toString()).toMatch(/^\/first authorization=none\n200.*\n401 new connections: 0$/s);
      const wrong = await curl(["-u", "alice:wrong", "-w", "%{http_code}", "-o", "/dev/null", at("/wrong")]);
      expect(wrong.stdout.toString()).toBe("401");
      const h2denied = await curl(["--http2-prior-knowledge", "-i", at("/h2-denied")]);
      expect(h2denied.stdout.toString()).toMatch(/^HTTP\/2 401/);
      expect(h2denied.stdout.toString()).toMatch(/www-authenticate: Basic realm="mitmproxy"/i);
      const h2ok = await curl(["--http2-prior-knowledge", "-u", "alice:s3cret", at("/h2-allowed")]);
      expect(h2ok.stdout.toString()).toBe("/h2-allowed authorization=none");
    } finally {
      await cap.stop();
      await origin.close();
    }
    const flows = await httpFlows(file);
    expect(flows.map((f) => f.request.path)).toEqual(["/allowed", "/first", "/h2-allowed"]);
    for (const f of flows) expect(f.request.headers.get("authorization"), f.request.path).toBeUndefined();
  });
});
