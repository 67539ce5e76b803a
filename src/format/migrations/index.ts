/**
 * Format migrations: every version mitmproxy reads (0.11 … 21) up to the newest (21),
 * and down from 21 to the versions reflow writes (20, 18, 17).
 */
import type { TDict } from "../tnetstring.js";
import { downgradeFlow } from "./downgrade.js";
import { MigrationContext } from "./migration-context.js";
import { upgradeConnections, upgradeFlow } from "./upgrade.js";

export { MigrationContext, upgradeConnections };

export const NEWEST_VERSION = 21;
export const WRITABLE_VERSIONS = [17, 18, 20, 21] as const;
export type WritableVersion = (typeof WRITABLE_VERSIONS)[number];

/**
 * Migrates one decoded flow dict, of any readable version, to version 21: exactly the v21
 * key set in mitmproxy's v21 insertion order, `backup` migrated as well. The input is not
 * changed. Throws FlowStateError (E_FLOW_VERSION, E_FLOW_SCHEMA).
 */
export function migrateToNewest(flow: TDict, ctx: MigrationContext): TDict {
  return upgradeFlow(flow, ctx, false);
}

/**
 * Converts a version-21 flow dict (as migrateToNewest returns it) to `version`, with that
 * version's key set and key order. A version-21 target returns the flow itself.
 * Throws WriteUnsupportedError for a UDP flow at 17.
 */
export function downgradeTo(flow: TDict, version: WritableVersion): TDict {
  if (version === NEWEST_VERSION) return flow;
  if (version !== 17 && version !== 18 && version !== 20) throw new RangeError(`cannot write flow format version ${String(version)}`);
  return downgradeFlow(flow, version);
}
