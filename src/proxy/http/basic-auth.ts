/**
 * --proxyauth over HTTP (RFC 7617 Basic): as a proxy (`Proxy-Authorization`, 407 with
 * `Proxy-Authenticate`) in the regular and upstream modes, as the server it stands in for
 * (`Authorization`, 401 with `WWW-Authenticate`) in reverse mode, as mitmproxy asks.
 */
import type { ProxyCredentials } from "../socks5.js";

/** The realm mitmproxy names. */
const REALM = "mitmproxy";

/** True when a `Basic` credentials header value holds exactly `creds`. */
export function basicCredentialsMatch(value: string | undefined, creds: ProxyCredentials): boolean {
  const m = /^\s*basic\s+(\S+)\s*$/i.exec(value ?? "");
  return m !== null && Buffer.from(m[1]!, "base64").toString("utf8") === `${creds.user}:${creds.pass}`;
}

/** The header that carries the credentials: the server's own in reverse mode, the proxy's otherwise. */
export function credentialsHeader(reverse: boolean): "authorization" | "proxy-authorization" {
  return reverse ? "authorization" : "proxy-authorization";
}

/** The answer to a request without valid credentials: status, reason, the challenge header and a short page. */
export function credentialsRequired(reverse: boolean): { status: number; reason: string; challenge: [string, string]; page: string } {
  const [status, reason] = reverse ? [401, "Unauthorized"] : [407, "Proxy Authentication Required"];
  const challenge: [string, string] = [reverse ? "www-authenticate" : "proxy-authenticate", `Basic realm="${REALM}"`];
  return { status, reason, challenge, page: `<html><head><title>${status} ${reason}</title></head><body><h1>${status} ${reason}</h1></body></html>` };
}
