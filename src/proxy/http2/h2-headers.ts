/**
 * Header lists across HTTP/1 and HTTP/2 (RFC 9113 §8.2.2, §8.3): HTTP/2 has no
 * connection-specific fields and carries the request line and Host as pseudo-headers.
 */
import type { OutgoingHttpHeaders } from "node:http2";

/** Fields that only mean something on one HTTP/1 connection. */
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host", "http2-settings"]);

/** The flat list without pseudo-headers and connection-specific fields (and those `Connection` names): what may cross into HTTP/2. */
export function h2Fields(raw: readonly string[]): string[] {
  const named = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2)
    if (raw[i]!.toLowerCase() === "connection") for (const t of raw[i + 1]!.split(",")) named.add(t.trim().toLowerCase());
  const out: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (lower.startsWith(":") || CONNECTION_SPECIFIC.has(lower) || named.has(lower)) continue;
    // "te" may only say "trailers" in HTTP/2.
    if (lower === "te" && raw[i + 1]!.trim().toLowerCase() !== "trailers") continue;
    out.push(lower, raw[i + 1]!);
  }
  return out;
}

/** A flat list as the header object Node's HTTP/2 API takes (repeated names as arrays, order within a name kept). */
export function h2HeaderObject(raw: readonly string[], pseudo: Record<string, string>): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = { ...pseudo };
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const had = out[name];
    if (had === undefined) out[name] = raw[i + 1]!;
    else out[name] = Array.isArray(had) ? [...had, raw[i + 1]!] : [String(had), raw[i + 1]!];
  }
  return out;
}

/** The pseudo-headers and the other fields of an HTTP/2 raw header list. */
export function splitPseudo(raw: readonly string[]): { pseudo: Map<string, string>; fields: string[] } {
  const pseudo = new Map<string, string>();
  const fields: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw[i]!.startsWith(":")) pseudo.set(raw[i]!, raw[i + 1]!);
    else fields.push(raw[i]!, raw[i + 1]!);
  }
  return { pseudo, fields };
}
