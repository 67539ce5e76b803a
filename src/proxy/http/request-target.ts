/**
 * Where an HTTP/1 request goes, from its request-target (RFC 9112 §3.2) and the way the
 * client reached the proxy: absolute-form to a forward proxy, origin-form inside an
 * intercepted tunnel (the CONNECT target) or to a reverse proxy (its fixed target).
 */
import type { TunnelTarget } from "../client-session.js";
import type { ProxyMode } from "../proxy-mode.js";

/** The target fields of a recorded request. */
export interface RequestTarget {
  scheme: "http" | "https";
  host: string;
  port: number;
  /** "" for origin-form, as mitmproxy records HTTP/1 requests it sends on in origin-form */
  authority: string;
  path: string;
}

const ABSOLUTE = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(.*)$/s;

/** Splits `host[:port]` (IPv6 in brackets); null when malformed. */
export function parseAuthority(authority: string, defaultPort: number): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+(?:%[\w.~-]+)?)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(authority);
  if (!m) return null;
  const port = m[3] === undefined ? defaultPort : Number(m[3]);
  if (!(port > 0 && port < 65536)) return null;
  return { host: (m[1] ?? m[2]!).toLowerCase(), port };
}

/** Parses an absolute-form target; null when it is not one or the scheme is not http(s). */
export function parseAbsoluteTarget(url: string): (RequestTarget & { urlAuthority: string }) | null {
  const m = ABSOLUTE.exec(url);
  if (!m) return null;
  const scheme = m[1]!.toLowerCase();
  if (scheme !== "http" && scheme !== "https") return null;
  const hp = parseAuthority(m[2]!, scheme === "https" ? 443 : 80);
  if (!hp) return null;
  let path = m[3]!;
  if (path === "") path = "/";
  else if (!path.startsWith("/")) path = "/" + path; // "http://h?q" → "/?q"
  return { scheme, host: hp.host, port: hp.port, authority: "", path, urlAuthority: m[2]! };
}

/**
 * The target of a request with request-target `url`, or null when the proxy cannot tell
 * where it should go (origin-form sent to a forward proxy outside a tunnel).
 */
export function requestTarget(url: string, mode: ProxyMode, tunnel: TunnelTarget | null): RequestTarget | null {
  if (mode.kind === "reverse" && !tunnel) {
    const t = mode.target;
    const abs = parseAbsoluteTarget(url);
    return { scheme: t.scheme, host: t.host, port: t.port, authority: "", path: abs ? abs.path : url };
  }
  if (tunnel) {
    const scheme = tunnel.tls ? "https" : "http";
    const abs = parseAbsoluteTarget(url);
    return { scheme, host: tunnel.host, port: tunnel.port, authority: "", path: abs ? abs.path : url };
  }
  const abs = parseAbsoluteTarget(url);
  if (!abs) return null;
  // Upstream mode sends absolute-form on, so the authority is recorded (as mitmproxy does).
  return { scheme: abs.scheme, host: abs.host, port: abs.port, authority: mode.kind === "upstream" ? abs.urlAuthority : "", path: abs.path };
}
