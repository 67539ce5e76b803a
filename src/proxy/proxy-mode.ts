/**
 * The proxy modes of `-m` (mitmproxy's spellings): `regular` (a forward proxy for
 * absolute-form HTTP and CONNECT), `reverse:URL` (every request goes to URL) and
 * `upstream:URL` (a forward proxy that goes through another HTTP proxy) and `socks5`
 * (a SOCKS5 proxy whose tunnels are handled as CONNECT tunnels).
 */
import { isIP } from "node:net";

/** A server to connect to: scheme, host and port. */
export interface Endpoint {
  scheme: "http" | "https";
  host: string;
  port: number;
}

/** A parsed `-m` value. */
export type ProxyMode =
  | { kind: "regular"; spec: string }
  | { kind: "reverse"; spec: string; target: Endpoint }
  | { kind: "upstream"; spec: string; proxy: Endpoint }
  | { kind: "socks5"; spec: string };

/** Why a mode spec was refused. */
export class ProxyModeError extends Error {
  constructor(spec: string, why: string) {
    super(`invalid mode ${JSON.stringify(spec)}: ${why}`);
    this.name = "ProxyModeError";
  }
}

/** `host:port` as in a URL authority, IPv6 in brackets. */
export function hostPort(host: string, port: number): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function endpointOf(spec: string, url: string): Endpoint {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ProxyModeError(spec, "expected a URL such as http://host:port");
  }
  const scheme = u.protocol.slice(0, -1);
  if (scheme !== "http" && scheme !== "https") throw new ProxyModeError(spec, "the URL must start with http:// or https://");
  if (!u.hostname) throw new ProxyModeError(spec, "the URL has no host");
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = u.port ? Number(u.port) : scheme === "https" ? 443 : 80;
  return { scheme, host, port };
}

/** Parses `regular`, `reverse:URL` or `upstream:URL`. */
export function parseProxyMode(spec: string): ProxyMode {
  if (spec === "regular") return { kind: "regular", spec };
  if (spec === "socks5") return { kind: "socks5", spec };
  const colon = spec.indexOf(":");
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? "" : spec.slice(colon + 1);
  if (kind === "reverse") return { kind, spec, target: endpointOf(spec, rest) };
  if (kind === "upstream") return { kind, spec, proxy: endpointOf(spec, rest) };
  throw new ProxyModeError(spec, "expected regular, reverse:URL, upstream:URL or socks5");
}
