/** The SOCKS5 greeting (RFC 1928, RFC 1929) on real sockets: targets, auth, refusals. */
import { type AddressInfo, type Socket, connect, createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { type ProxyCredentials, socks5Greeting } from "../../src/proxy/socks5.js";

/** Runs the greeting on the server side of a connection the client writes `bytes` to; gives the result and what the client got back. */
async function greet(bytes: number[], auth: ProxyCredentials | null = null): Promise<{ result: Awaited<ReturnType<typeof socks5Greeting>>; replies: number[] }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const accepted = new Promise<Socket>((r) => server.once("connection", r));
  const client = connect((server.address() as AddressInfo).port, "127.0.0.1");
  const replies: number[] = [];
  client.on("data", (d: Buffer) => replies.push(...d));
  const clientClosed = new Promise((r) => client.once("close", r));
  client.write(Buffer.from(bytes));
  const socket = await accepted;
  const result = await socks5Greeting(socket, auth);
  socket.destroy();
  await clientClosed;
  server.close();
  return { result, replies };
}

const connectTo = (atyp: number, addr: number[], port: number): number[] => [5, 1, 0, atyp, ...addr, port >> 8, port & 0xff];
const SUCCESS = [5, 0, 0, 1, 0, 0, 0, 0, 0, 0];

describe("socks5Greeting", () => {
  it("reads IPv4, domain-name and IPv6 targets and keeps the bytes after the request", async () => {
    const v4 = await greet([5, 1, 0, ...connectTo(1, [10, 0, 0, 7], 443), 0x16, 3]);
    expect(v4.result).toEqual({ host: "10.0.0.7", port: 443, head: Buffer.from([0x16, 3]) });
    expect(v4.replies).toEqual([5, 0, ...SUCCESS]);
    const name = [..."Example.COM"].map((c) => c.charCodeAt(0));
    expect((await greet([5, 1, 0, ...connectTo(3, [name.length, ...name], 80)])).result).toMatchObject({ host: "example.com", port: 80 });
    const v6 = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    expect((await greet([5, 1, 0, ...connectTo(4, v6, 8080)])).result).toMatchObject({ host: "2001:db8::1", port: 8080 });
  });

  it("refuses other commands (7) and clients without an acceptable method (0xff)", async () => {
    const bind = await greet([5, 1, 0, 5, 2, 0, 1, 127, 0, 0, 1, 0, 80]);
    expect(bind.result).toBeNull();
    expect(bind.replies.slice(2, 4)).toEqual([5, 7]);
    const noAuthOffered = await greet([5, 1, 0], { user: "u", pass: "p" });
    expect(noAuthOffered.result).toBeNull();
    expect(noAuthOffered.replies).toEqual([5, 0xff]);
  });

  it("checks username and password (RFC 1929)", async () => {
    const creds = (u: string, p: string): number[] => [1, u.length, ...Buffer.from(u), p.length, ...Buffer.from(p)];
    const ok = await greet([5, 1, 2, ...creds("alice", "s3cret"), ...connectTo(1, [127, 0, 0, 1], 80)], { user: "alice", pass: "s3cret" });
    expect(ok.result).toMatchObject({ host: "127.0.0.1", port: 80 });
    expect(ok.replies).toEqual([5, 2, 1, 0, ...SUCCESS]);
    const bad = await greet([5, 1, 2, ...creds("alice", "wrong")], { user: "alice", pass: "s3cret" });
    expect(bad.result).toBeNull();
    expect(bad.replies).toEqual([5, 2, 1, 1]);
  });
});
