/**
 * Raw TCP relaying for CONNECT targets matching --tcp-hosts: the bytes go through as
 * they come (decrypted first when the client spoke TLS), each read reported as a message.
 * When the handler intercepts messages, each chunk waits for its answer (changed bytes,
 * or null to end the relay).
 */
import type { Duplex } from "node:stream";
import type { RelayContext } from "./http/http-relay.js";
import { TcpSession } from "./proxy-handler.js";
import { ProxyFailure } from "./proxy-failure.js";
import { hostPort } from "./proxy-mode.js";

/** Relays between `client` and the tunnel's target until both sides are closed. */
export async function relayTcp(
  ctx: RelayContext,
  client: Duplex,
  target: { host: string; port: number; tls: boolean },
  head: Buffer,
): Promise<void> {
  const session = new TcpSession(ctx.session.info, target);
  client.on("error", () => {});
  client.pause();
  let server: Duplex;
  try {
    const opened = await ctx.session.servers.open({ scheme: target.tls ? "https" : "http", host: target.host, port: target.port }, false, []);
    session.server = opened.info;
    server = opened.socket;
  } catch (e) {
    session.failure = ProxyFailure.fromUpstream(e, hostPort(target.host, target.port));
    client.destroy();
    await ctx.handler.tcpStart(session);
    await ctx.handler.tcpEnd(session);
    return;
  }
  server.on("error", () => {});
  await ctx.handler.tcpStart(session);
  const intercept = ctx.handler.interceptsTcpMessages();
  let queue: Promise<unknown> = Promise.resolve();
  let killed = false;

  await new Promise<void>((resolve) => {
    let open = 2;
    let ended = false;
    let lingering: NodeJS.Timeout | null = null;
    const end = (): void => {
      if (ended) return;
      ended = true;
      if (lingering) clearTimeout(lingering);
      client.destroy();
      server.destroy();
      resolve();
    };
    const pipe = (from: Duplex, to: Duplex, fromClient: boolean): void => {
      const onData = (chunk: Buffer): void => {
        if (!intercept) {
          if (!to.write(chunk)) {
            from.pause();
            to.once("drain", () => from.resume());
          }
          queue = queue.then(() => ctx.handler.tcpMessage(session, fromClient, chunk)).catch(() => {});
          return;
        }
        from.pause();
        queue = queue
          .then(() => (killed ? null : ctx.handler.tcpMessage(session, fromClient, chunk)))
          .then((out) => {
            if (out === null) {
              if (!killed) {
                killed = true;
                session.failure = ProxyFailure.killed();
              }
              end();
            } else if (out.length) to.write(out);
          })
          .catch(() => {})
          .finally(() => {
            if (!ended) from.resume();
          });
      };
      from.on("data", onData);
      from.once("end", () => {
        queue = queue.then(() => to.end());
        lingering ??= setTimeout(end, 5000);
      });
      from.once("close", (hadError: boolean) => {
        if (--open === 0 || hadError) end();
      });
    };
    if (head.length) client.unshift(head);
    pipe(client, server, true);
    pipe(server, client, false);
    client.resume();
    server.resume();
  });
  await queue;
  await ctx.handler.tcpEnd(session);
}
