/**
 * Any readable flow version → 21, one mitmproxy step at a time, then the v21 canonical form.
 * Unlike mitmproxy, the nested `backup` flow is migrated too (mitm-format.md §7.2).
 */
import { resolveDeep, storedEntry, type TDict } from "../tnetstring.js";
import { canonicalV21 } from "./canonical-v21.js";
import { flowVersionKey, versionError } from "./flow-version.js";
import type { MigrationContext } from "./migration-context.js";
import { UPGRADE_STEPS } from "./upgrade-steps.js";
import { CLIENT_V21, SERVER_V21 } from "./key-orders.js";
import { deepCopy, needDict, ordered, schemaError, stringifyKeys } from "./values.js";

const NEWEST_KEY = "21";

export function upgradeFlow(flow: TDict, ctx: MigrationContext, asBackup: boolean): TDict {
  if (!(flow instanceof Map)) throw schemaError("a flow must be a dict");
  let key = flowVersionKey(flow);
  let current = flow;
  if (key !== NEWEST_KEY) {
    // steps change the dict in place, so they work on a private copy
    current = deepCopy(flow);
    // release-list versions go back to Python 2 files with bytes keys
    if (key.includes(".")) current = stringifyKeys(current) as TDict;
    while (key !== NEWEST_KEY) {
      const step = UPGRADE_STEPS.get(key);
      if (!step) throw versionError(key);
      current = step(current, ctx, asBackup);
      key = flowVersionKey(current);
    }
  }
  return canonicalV21(current, (backup) => upgradeFlow(backup, ctx, true));
}

/**
 * The connections of a version-17-to-20 flow as version 21 has them, migrated on their own
 * (from 17 on, the steps change nothing but the connections and `backup`): copies, so the
 * flow itself is neither parsed beyond its connections nor changed.
 */
export function upgradeConnections(
  flow: TDict,
  version: number,
  ctx: MigrationContext,
): { client: TDict; server: TDict } {
  if (!(Number.isInteger(version) && version >= 17 && version <= 21)) throw versionError(String(version));
  // peeked, not read (reading marks an entry of a flow from a file as used); resolveDeep
  // copies every container it passes through, since the steps change them in place
  let current: TDict = new Map([
    ["version", version],
    ["type", storedEntry(flow, "type") ?? null],
    ["client_conn", resolveDeep(storedEntry(flow, "client_conn") ?? null)],
    ["server_conn", resolveDeep(storedEntry(flow, "server_conn") ?? null)],
  ]);
  for (let key = String(version); key !== NEWEST_KEY; key = flowVersionKey(current))
    current = UPGRADE_STEPS.get(key)!(current, ctx, false);
  return {
    client: ordered(needDict(current, "client_conn", "flow"), CLIENT_V21, "client_conn"),
    server: ordered(needDict(current, "server_conn", "flow"), SERVER_V21, "server_conn"),
  };
}
