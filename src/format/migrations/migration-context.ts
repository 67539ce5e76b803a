/**
 * The state mitmproxy keeps process-wide while migrating, so that flows of one run that
 * share a connection or a WebSocket handshake are migrated consistently.
 */
import type { TDict } from "../tnetstring.js";

export class MigrationContext {
  /** 4 → 5: client connection id per (timestamp_start, address…) */
  readonly clientConnectionIds = new Map<string, string>();
  /** 4 → 5: server (and `via`) connection id per (timestamp_start, source_address…) */
  readonly serverConnectionIds = new Map<string, string>();
  /** 11 → 12: copies of WebSocket handshake flows by flow id, until their WebSocket flow claims them */
  readonly websocketHandshakes = new Map<string, TDict>();
}
