/**
 * Any readable flow version → 21, one mitmproxy step at a time, then the v21 canonical form.
 * Unlike mitmproxy, the nested `backup` flow is migrated too (mitm-format.md §7.2).
 */
import type { TDict } from "../tnetstring.js";
import { canonicalV21 } from "./canonical-v21.js";
import { flowVersionKey, versionError } from "./flow-version.js";
import type { MigrationContext } from "./migration-context.js";
import { UPGRADE_STEPS } from "./upgrade-steps.js";
import { deepCopy, schemaError, stringifyKeys } from "./values.js";

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
