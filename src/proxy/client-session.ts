/**
 * Typed per-connection state: one ClientSession per accepted client socket, found again
 * from the socket (or the TLS socket made over it) through a WeakMap, never through
 * properties added to sockets.
 */
import type { Socket } from "node:net";
import type { ClientConnectionInfo } from "./connection-info.js";
import type { HttpExchange } from "./exchange.js";
import type { ServerConnections } from "./server-connections.js";

/** Where an intercepted CONNECT tunnel leads. */
export interface TunnelTarget {
  host: string;
  port: number;
  /** the client speaks TLS inside the tunnel (intercepted) */
  tls: boolean;
}

/** Everything the proxy keeps about one client connection. */
export class ClientSession {
  /** exchanges read but not finished */
  readonly exchanges = new Set<HttpExchange>();
  /** the raw socket and any TLS socket over it */
  readonly sockets = new Set<Socket>();
  /** set once the connection became an intercepted CONNECT tunnel */
  tunnel: TunnelTarget | null = null;
  /** true once the client gave the --proxyauth credentials */
  authenticated = false;
  /** true once the client socket closed */
  closed = false;
  /** what the connection is busy with besides HTTP exchanges (tunnels, relays): awaited at shutdown */
  readonly relays = new Set<Promise<void>>();

  constructor(
    readonly info: ClientConnectionInfo,
    readonly servers: ServerConnections,
  ) {}
}

const sessions = new WeakMap<Socket, ClientSession>();

/** Links a socket (raw or TLS) to its session. */
export function bindSession(socket: Socket, session: ClientSession): void {
  sessions.set(socket, session);
  session.sockets.add(socket);
}

/** The session of a socket, if it is one of the proxy's client sockets. */
export function sessionOf(socket: Socket): ClientSession | undefined {
  return sessions.get(socket);
}
