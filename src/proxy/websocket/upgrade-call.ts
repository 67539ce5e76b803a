/**
 * An Upgrade request over a server connection of the proxy's own (TLS, upstream proxy
 * and all): the request written, the response head read; a 101 hands the socket and the
 * bytes that came after the head to the new protocol, any other response is read whole.
 */
import type { Duplex } from "node:stream";
import type { HeaderPair } from "../exchange.js";
import { type ResponseHead, ResponseReader, ResponseSyntaxError } from "../http/response-reader.js";
import { ProxyFailure } from "../proxy-failure.js";

/** What the server answered an Upgrade request with. */
export interface UpgradeAnswer {
  head: ResponseHead;
  /** the body of a declined upgrade; null after a 101 */
  content: Buffer | null;
  trailers: HeaderPair[] | null;
  /** after a 101: bytes of the new protocol already read */
  rest: Buffer;
}

/** Writes `request` on `socket` and reads the answer; rejects with a ProxyFailure. */
export function upgradeCall(socket: Duplex, request: Buffer[], method: string, where: string, timeoutMs: number): Promise<UpgradeAnswer> {
  return new Promise((resolve, reject) => {
    let head: ResponseHead | null = null;
    const chunks: Buffer[] = [];
    let settled = false;
    const timer = setTimeout(() => fail(ProxyFailure.noAnswer(where, timeoutMs)), timeoutMs);
    const cleanup = (): void => {
      settled = true;
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeListener("end", onClose);
      socket.removeListener("close", onClose);
      socket.removeListener("error", onError);
    };
    const fail = (f: ProxyFailure): void => {
      if (settled) return;
      cleanup();
      socket.destroy();
      reject(f);
    };
    const reader = new ResponseReader(method, {
      head: (h) => (head = h),
      body: (c) => chunks.push(c),
      end: (trailers) => {
        if (settled) return;
        cleanup();
        // The socket goes on to the relay: nothing more is read until it listens.
        socket.pause();
        const upgraded = head!.statusCode === 101;
        resolve({
          head: head!,
          content: upgraded ? null : Buffer.concat(chunks),
          trailers,
          rest: upgraded ? (reader.rest ?? Buffer.alloc(0)) : Buffer.alloc(0),
        });
      },
    });
    const onData = (d: Buffer): void => {
      try {
        reader.push(d);
      } catch (e) {
        fail(new ProxyFailure("E_UPSTREAM_PROTOCOL", `Invalid HTTP from ${where}: ${(e as ResponseSyntaxError).message}`));
      }
    };
    const onClose = (): void => {
      if (!reader.close()) fail(ProxyFailure.cutShort(where));
    };
    const onError = (e: Error): void => fail(ProxyFailure.fromUpstream(e, where));
    socket.on("data", onData);
    socket.once("end", onClose);
    socket.once("close", onClose);
    socket.on("error", onError);
    for (const b of request) socket.write(b);
    socket.resume();
  });
}
