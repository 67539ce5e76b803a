/**
 * The SOCKS5 greeting of `-m socks5` (RFC 1928): method negotiation (no authentication,
 * or username/password per RFC 1929 when --proxyauth is set), then a CONNECT request for
 * an IPv4, IPv6 or domain-name target. Other commands are refused. As mitmproxy does, the
 * CONNECT is answered at once (bound address 0.0.0.0:0); the server is reached later, by
 * whatever the tunnel carries.
 */
import type { Socket } from "node:net";

/** Credentials the client must give, as --proxyauth sets them. */
export interface ProxyCredentials {
  user: string;
  pass: string;
}

/** Reads exactly `n` bytes (null at EOF), keeping what comes after for the next read. */
class ByteReader {
  private buf: Buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;

  constructor(private readonly socket: Socket) {
    socket.on("data", this.onData);
    socket.once("end", this.onEnd);
    socket.once("close", this.onEnd);
    socket.resume();
  }

  private readonly onData = (d: Buffer): void => {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    this.wake?.();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake?.();
  };

  async read(n: number): Promise<Buffer | null> {
    while (this.buf.length < n) {
      if (this.ended) return null;
      await new Promise<void>((r) => (this.wake = r));
      this.wake = null;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    return out;
  }

  /** Stops reading; returns the bytes read past the greeting. */
  release(): Buffer {
    this.socket.removeListener("data", this.onData);
    this.socket.removeListener("end", this.onEnd);
    this.socket.removeListener("close", this.onEnd);
    this.socket.pause();
    return this.buf;
  }
}

/** Reply codes of RFC 1928 §6. */
const REPLY = { succeeded: 0, commandNotSupported: 7, addressTypeNotSupported: 8 } as const;

function reply(socket: Socket, code: number): void {
  socket.write(Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]));
}

/** An IPv6 address from its 16 bytes, in the short text form. */
function ipv6Text(b: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  // The URL parser writes IPv6 in its canonical short form (RFC 5952).
  return new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1);
}

/**
 * Runs the greeting on `socket`. Resolves with the CONNECT target and any bytes the
 * client sent after it, or null when the greeting failed (the client was told, and the
 * socket ended).
 */
export async function socks5Greeting(socket: Socket, auth: ProxyCredentials | null): Promise<{ host: string; port: number; head: Buffer } | null> {
  const reader = new ByteReader(socket);
  const refuse = (bytes: number[] | null): null => {
    reader.release();
    if (bytes) socket.end(Buffer.from(bytes));
    else socket.destroy();
    return null;
  };
  const hello = await reader.read(2);
  if (!hello || hello[0] !== 5) return refuse(null);
  const methods = await reader.read(hello[1]!);
  if (!methods) return refuse(null);
  const wanted = auth ? 2 : 0;
  if (!methods.includes(wanted)) return refuse([5, 0xff]);
  socket.write(Buffer.from([5, wanted]));
  if (auth) {
    // RFC 1929: VER ULEN UNAME PLEN PASSWD
    const ver = await reader.read(2);
    const user = ver && (await reader.read(ver[1]!));
    const plen = user && (await reader.read(1));
    const pass = plen && (await reader.read(plen[0]!));
    if (!pass || ver![0] !== 1) return refuse(null);
    if (user!.toString("utf8") !== auth.user || pass.toString("utf8") !== auth.pass) return refuse([1, 1]);
    socket.write(Buffer.from([1, 0]));
  }
  const request = await reader.read(4);
  if (!request || request[0] !== 5) return refuse(null);
  let host: string;
  if (request[3] === 1) {
    const a = await reader.read(4);
    if (!a) return refuse(null);
    host = [...a].join(".");
  } else if (request[3] === 4) {
    const a = await reader.read(16);
    if (!a) return refuse(null);
    host = ipv6Text(a);
  } else if (request[3] === 3) {
    const len = await reader.read(1);
    const name = len && (await reader.read(len[0]!));
    if (!name) return refuse(null);
    host = name.toString("latin1").toLowerCase();
  } else {
    reply(socket, REPLY.addressTypeNotSupported);
    return refuse(null);
  }
  const portBytes = await reader.read(2);
  if (!portBytes) return refuse(null);
  if (request[1] !== 1) {
    reply(socket, REPLY.commandNotSupported);
    return refuse(null);
  }
  reply(socket, REPLY.succeeded);
  return { host, port: portBytes.readUInt16BE(0), head: reader.release() };
}
