/**
 * The `version` of a flow dict: a release list (`[0, 11, 3]`, only the first two numbers
 * count) up to mitmproxy 3.0 dev, an int ("flow format version") from then on.
 */
import { FlowStateError } from "../../errors.js";
import { resolve, type TDict, type TValue } from "../tnetstring.js";
import { getLooseKey } from "./values.js";

/** A version as the step table names it: "0.11", "1.0", … for lists, "4" … "21" for ints. */
export type VersionKey = string;

export function versionError(shown: string): FlowStateError {
  return new FlowStateError("E_FLOW_VERSION", `cannot read files with flow format version ${shown}`);
}

/** Reads a flow's version key; bytes keys (files up to 0.16) are accepted. */
export function flowVersionKey(flow: TDict): VersionKey {
  const raw = getLooseKey(flow, "version");
  if (raw === undefined) throw new FlowStateError("E_FLOW_SCHEMA", "flow has no version");
  return versionKeyOf(resolve(raw));
}

export function versionKeyOf(v: TValue): VersionKey {
  if (typeof v === "number" && Number.isSafeInteger(v)) return String(v);
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v) && v.length >= 2) {
    const [major, minor] = v;
    if (Number.isSafeInteger(major) && Number.isSafeInteger(minor)) return `${major}.${minor}`;
  }
  throw new FlowStateError("E_FLOW_SCHEMA", "flow version is neither an int nor a release list");
}
