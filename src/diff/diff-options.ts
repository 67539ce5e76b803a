/**
 * What a diff leaves out and how it pairs flows: the `--ignore` categories of per-recording
 * noise, ignored header names, and the pairing mode.
 */
import { UsageError } from "../errors.js";

/** How flows of A and B are paired. */
export type PairingMode = "id" | "request" | "order";

/** The pairing modes, for option parsing and help. */
export const PAIRING_MODES: readonly PairingMode[] = ["id", "request", "order"];

/**
 * Groups of fields `--ignore` can leave out. The defaults are what differs between two
 * recordings of the same traffic even when nothing real changed.
 */
export const IGNORE_CATEGORIES = {
  timestamps:
    "every timestamp: flow creation, request/response start and end, connection and TLS setup, errors, messages",
  connections: "connection ids (flows on one connection share one)",
  addresses: "client and server peername and sockname, and the server address",
  mitmcert: "the certificate the proxy made up for the client (new on every run)",
  replay: "whether the flow is a replay (is_replay): a client replay of a recording differs from it in that alone",
  tls: "the rest of the TLS details: version, cipher, ALPN, SNI, certificates",
  metadata: "the flow's metadata",
  comment: "the flow's comment",
  marked: "the flow's marker",
} as const;

/** One `--ignore` category. */
export type IgnoreCategory = keyof typeof IGNORE_CATEGORIES;

/** What is ignored when `--ignore` is not given. */
export const DEFAULT_IGNORE: readonly IgnoreCategory[] = ["timestamps", "connections", "addresses", "mitmcert", "replay"];

/** Everything a flow comparison needs to know. */
export interface CompareOptions {
  /** categories of fields left out */
  ignore: ReadonlySet<IgnoreCategory>;
  /** header names left out, lower-case */
  ignoreHeaders: ReadonlySet<string>;
  /** report headers that only moved (default: order does not matter) */
  headerOrder: boolean;
  /** lines of context around each hunk of a text body diff */
  context: number;
}

/** The comparison options with nothing but the defaults. */
export function defaultCompareOptions(over: Partial<CompareOptions> = {}): CompareOptions {
  return {
    ignore: new Set(DEFAULT_IGNORE),
    ignoreHeaders: new Set(),
    headerOrder: false,
    context: 3,
    ...over,
  };
}

/**
 * Parses an `--ignore` list: comma-separated categories, `none` for nothing, `default` for
 * the default set (so `default,metadata` adds to it).
 */
export function parseIgnoreList(text: string): Set<IgnoreCategory> {
  const out = new Set<IgnoreCategory>();
  for (const word of text.split(",").map((w) => w.trim().toLowerCase())) {
    if (word === "" || word === "none") continue;
    if (word === "default") for (const c of DEFAULT_IGNORE) out.add(c);
    else if (Object.hasOwn(IGNORE_CATEGORIES, word)) out.add(word as IgnoreCategory);
    else
      throw new UsageError(
        `--ignore: unknown category ${JSON.stringify(word)} (known: ${Object.keys(IGNORE_CATEGORIES).join(", ")}, none, default)`,
      );
  }
  return out;
}
