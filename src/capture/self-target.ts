/**
 * A reverse or upstream target that is the proxy itself (`-p 8080 -m reverse:http://localhost:8080`)
 * would relay every request back to itself without end: refused when the capture starts.
 */
import { lookup } from "node:dns/promises";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import type { ProxyMode } from "../proxy/proxy-mode.js";

/** The addresses this proxy answers on: the one it listens on, or every local one for a wildcard. */
function listeningAddresses(listening: AddressInfo): Set<string> {
  const wildcard = listening.address === "0.0.0.0" || listening.address === "::";
  if (!wildcard) return new Set([listening.address]);
  const all = new Set(["0.0.0.0", "::"]);
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) all.add(a.address);
  return all;
}

/**
 * The target (`host:port`) of a reverse or upstream mode when it is the proxy listening at
 * `listening` itself; null otherwise (also when its name does not resolve: the first request
 * then fails as it would anyway).
 */
export async function modeTargetsItself(mode: ProxyMode, listening: AddressInfo): Promise<string | null> {
  const target = mode.kind === "reverse" ? mode.target : mode.kind === "upstream" ? mode.proxy : null;
  if (!target || target.port !== listening.port) return null;
  const ours = listeningAddresses(listening);
  let addresses: string[];
  try {
    addresses = (await lookup(target.host, { all: true })).map((a) => a.address);
  } catch {
    return null;
  }
  const loopback = (a: string): boolean => a.startsWith("127.") || a === "::1";
  // 0.0.0.0 as a target means this host, and the loopback range is one host too
  const isOurs = (a: string): boolean =>
    ours.has(a) || (a === "0.0.0.0" && ours.size > 0) || (loopback(a) && [...ours].some(loopback));
  return addresses.some(isOurs) ? `${target.host}:${target.port}` : null;
}
