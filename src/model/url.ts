/**
 * URLs, authorities and query strings the way mitmproxy handles them (`net/http/url.py`,
 * which leans on Python's urllib.parse): `parseUrl` for the `url` setter, `hostport` and
 * `unparseUrl` for building them, `parseQuery`/`encodeQuery` for `query` and forms.
 */
import { idnaDecode, idnaEncode, isValidHost, isValidPort } from "./host.js";
import { decodeUtf8Escaped, encodeUtf8Escaped } from "./surrogate-escape.js";

/** The parts of an absolute URL that a request stores. */
export interface UrlParts {
  scheme: string;
  /** Unicode host name (IDNA-decoded), as `Request.host` holds it */
  host: string;
  port: number;
  /** path, params, query and fragment: everything after the authority; starts with "/" */
  path: string;
}

/** The default port of a scheme, if it has one. */
export function defaultPort(scheme: string): number | undefined {
  return scheme === "http" ? 80 : scheme === "https" ? 443 : undefined;
}

/** `host` or `host:port`, leaving the port out when it is the scheme's default (IPv6 not bracketed, as mitmproxy). */
export function hostport(scheme: string, host: string, port: number): string {
  return defaultPort(scheme) === port ? host : `${host}:${port}`;
}

/** `scheme://host[:port]path`. */
export function unparseUrl(scheme: string, host: string, port: number, path: string): string {
  return `${scheme}://${hostport(scheme, host, port)}${path}`;
}

/** Percent-encodes non-ASCII characters (urllib's quoting of a non-ASCII path). */
function quoteNonAscii(s: string): string {
  return s.replace(/[^\x00-\x7f]+/g, (run) => quote(run, ""));
}

/**
 * Splits an absolute URL into scheme, host, port and path, with urllib's rules (scheme and
 * host lower-cased, userinfo dropped, port 0 or absent means the scheme's default, which
 * for anything but https is 80). Throws a TypeError for a URL without a valid host or port.
 * Unlike mitmproxy, a Unicode host is IDNA-encoded and a non-ASCII path percent-encoded
 * instead of refused.
 */
export function parseUrl(input: string): UrlParts {
  // urllib strips leading C0 controls and spaces, and drops tabs and newlines anywhere.
  let url = input.replace(/^[\x00-\x20]+/, "").replace(/[\t\r\n]/g, "");
  let scheme = "";
  const colon = url.indexOf(":");
  if (colon > 0 && /^[A-Za-z][A-Za-z0-9+.-]*$/.test(url.slice(0, colon))) {
    scheme = url.slice(0, colon).toLowerCase();
    url = url.slice(colon + 1);
  }
  let netloc = "";
  if (url.startsWith("//")) {
    const rest = url.slice(2);
    const end = rest.search(/[/?#]/);
    netloc = end < 0 ? rest : rest.slice(0, end);
    url = end < 0 ? "" : rest.slice(end);
    if (netloc.includes("[") !== netloc.includes("]")) throw new TypeError(`invalid IPv6 URL: ${input}`);
  }
  const hostinfo = netloc.slice(netloc.lastIndexOf("@") + 1);
  let hostname: string;
  let portText: string;
  const bracket = hostinfo.indexOf("[");
  if (bracket >= 0) {
    const inner = hostinfo.slice(bracket + 1);
    const close = inner.indexOf("]");
    hostname = inner.slice(0, close < 0 ? undefined : close);
    const after = close < 0 ? "" : inner.slice(close + 1);
    portText = after.includes(":") ? after.slice(after.indexOf(":") + 1) : "";
  } else {
    const c = hostinfo.indexOf(":");
    hostname = c < 0 ? hostinfo : hostinfo.slice(0, c);
    portText = c < 0 ? "" : hostinfo.slice(c + 1);
  }
  hostname = hostname.toLowerCase();
  if (!hostname) throw new TypeError(`no hostname given: ${input}`);
  let port = 0;
  if (portText) {
    if (!/^[0-9]+$/.test(portText))
      throw new TypeError(`port could not be cast to integer value: ${JSON.stringify(portText)}`);
    port = Number(portText);
    if (!isValidPort(port)) throw new TypeError(`port out of range 0-65535: ${portText}`);
  }
  if (!port) port = scheme === "https" ? 443 : 80;

  let host: string;
  try {
    host = idnaDecode(idnaEncode(hostname));
  } catch {
    throw new TypeError(`invalid host: ${hostname}`);
  }
  if (!isValidHost(host)) throw new TypeError(`invalid host: ${hostname}`);

  // What urlunparse gives back for ("", "", path, params, query, fragment): empty ? and # vanish.
  let fragment = "";
  const hash = url.indexOf("#");
  if (hash >= 0) {
    fragment = url.slice(hash + 1);
    url = url.slice(0, hash);
  }
  let query = "";
  const q = url.indexOf("?");
  if (q >= 0) {
    query = url.slice(q + 1);
    url = url.slice(0, q);
  }
  let path = url + (query ? `?${query}` : "") + (fragment ? `#${fragment}` : "");
  if (!path.startsWith("/")) path = `/${path}`;
  return { scheme, host, port, path: quoteNonAscii(path) };
}

const AUTHORITY = /^([^:]+|\[.+\])(?::(\d+))?$/s;

/**
 * Host and port of a Host header or `:authority` value. With `check` a malformed value
 * throws; without, it comes back whole as the host with no port (mitmproxy's `check=False`).
 */
export function parseAuthority(authority: string, check: boolean): [string, number | undefined] {
  const m = AUTHORITY.exec(authority);
  let ok = m !== null;
  let host = m?.[1] ?? "";
  let port: number | undefined;
  if (ok) {
    if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
    if (!isValidHost(host)) ok = false;
    if (ok && m![2] !== undefined) {
      port = Number(m![2]);
      if (!isValidPort(port)) ok = false;
    }
  }
  if (ok) return [host, port];
  if (check) throw new TypeError(`invalid authority: ${JSON.stringify(authority)}`);
  return [authority, undefined];
}

/** Splits a request path into the path proper, the query and the fragment (urllib's order: `#` first). */
export function splitPath(path: string): { path: string; query: string | undefined; fragment: string | undefined } {
  let rest = path;
  let fragment: string | undefined;
  const hash = rest.indexOf("#");
  if (hash >= 0) {
    fragment = rest.slice(hash + 1);
    rest = rest.slice(0, hash);
  }
  let query: string | undefined;
  const q = rest.indexOf("?");
  if (q >= 0) {
    query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  return { path: rest, query, fragment };
}

/** Joins what `splitPath` split; an empty query or fragment is left out, as urlunparse does. */
export function joinPath(path: string, query: string | undefined, fragment: string | undefined): string {
  return path + (query ? `?${query}` : "") + (fragment ? `#${fragment}` : "");
}

const ALWAYS_SAFE = /[A-Za-z0-9_.\-~]/;

/**
 * Percent-encodes text as urllib's `quote(s, safe, errors="surrogateescape")`: UTF-8 bytes
 * (escaped bytes as themselves), letters, digits, `_.-~` and the `safe` characters kept.
 */
export function quote(text: string, safe = "/"): string {
  const bytes = encodeUtf8Escaped(text);
  let out = "";
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    if (b < 0x80 && (ALWAYS_SAFE.test(ch) || safe.includes(ch))) out += ch;
    else out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** urllib's `quote_plus`: like quote with nothing extra safe, spaces as `+`. */
export function quotePlus(text: string): string {
  return text.includes(" ") ? quote(text, " ").replace(/ /g, "+") : quote(text, "");
}

/**
 * Decodes `%XX` escapes as urllib's `unquote(s, errors="surrogateescape")`: escapes inside
 * runs of ASCII become UTF-8 bytes (invalid ones escaped), other characters stay as they are.
 */
export function unquote(text: string): string {
  if (!text.includes("%")) return text;
  return text.replace(/[\x00-\x7f]+/g, (run) => {
    if (!run.includes("%")) return run;
    const bytes: number[] = [];
    for (let i = 0; i < run.length; i++) {
      if (run[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(run.slice(i + 1, i + 3))) {
        bytes.push(parseInt(run.slice(i + 1, i + 3), 16));
        i += 2;
      } else bytes.push(run.charCodeAt(i));
    }
    return decodeUtf8Escaped(Buffer.from(bytes));
  });
}

/** Parses a query string or form body as `parse_qsl(keep_blank_values=True)`: `&`-separated, `+` is a space. */
export function parseQuery(qs: string): [string, string][] {
  const out: [string, string][] = [];
  for (const part of qs.split("&")) {
    if (!part) continue;
    const eq = part.indexOf("=");
    const name = eq < 0 ? part : part.slice(0, eq);
    const value = eq < 0 ? "" : part.slice(eq + 1);
    out.push([unquote(name.replace(/\+/g, " ")), unquote(value.replace(/\+/g, " "))]);
  }
  return out;
}

/**
 * Encodes pairs as `urlencode` does (`k=v&…`, quote_plus). With `similarTo`, an existing
 * body that had bare keys (`a&b=1`) makes empty values come out bare too, as mitmproxy does.
 */
export function encodeQuery(fields: Iterable<readonly [string, string]>, similarTo?: string | null): string {
  let encoded = [...fields].map(([k, v]) => `${quotePlus(String(k))}=${quotePlus(String(v))}`).join("&");
  const bare = !!similarTo && similarTo.split("&").some((p) => !p.includes("="));
  if (encoded && bare) {
    encoded = encoded.replace(/=&/g, "&");
    if (encoded.endsWith("=")) encoded = encoded.slice(0, -1);
  }
  return encoded;
}
