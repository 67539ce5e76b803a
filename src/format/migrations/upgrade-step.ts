import type { TDict } from "../tnetstring.js";
import type { MigrationContext } from "./migration-context.js";

/**
 * One upgrade step: takes a flow dict of one version (already a private copy, so it may be
 * changed in place) and returns the flow of the next version. `asBackup` is set while
 * migrating the nested `backup` dict, which must not feed the run-wide WebSocket table.
 */
export type UpgradeStep = (flow: TDict, ctx: MigrationContext, asBackup: boolean) => TDict;
