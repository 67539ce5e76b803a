/**
 * Flows kept in memory while they wait for their partner in the other file. A flow read
 * from a file is a view into a multi-megabyte read buffer; keeping it would keep the whole
 * buffer, so a waiting flow is re-made over a copy of its own bytes.
 */
import { FlowRecord } from "../format/flow-record.js";
import { type MigrationContext, NEWEST_VERSION } from "../format/migrations/index.js";
import { type TDict, resolveDeep } from "../format/tnetstring.js";
import { DetachedState, type Flow, flowFromState } from "../model/index.js";
import { cloneValue } from "../model/values.js";

/** Versions read without migrating the flow (see FlowState): re-reading them from bytes gives the same flow. */
const NATIVE_VERSIONS = { min: 17, max: NEWEST_VERSION };

/** A flow that holds only its own bytes; it reads the same as `flow`. */
export function retainFlow(flow: Flow, migrations: MigrationContext): Flow {
  const record = flow.state;
  if (!(record instanceof FlowRecord)) return flow;
  const v = record.storedVersion;
  const native = typeof v === "number" && v >= NATIVE_VERSIONS.min && v <= NATIVE_VERSIONS.max;
  if (native || !record.touched) {
    const raw = { ...record.raw, bytes: Buffer.from(record.raw.bytes) };
    return flowFromState(new FlowRecord(raw, record.file, migrations));
  }
  // An old flow was migrated already, and migrating it again would not give the same flow
  // (the 11→12 WebSocket merge consumes the handshake it stored): keep a copy of the result.
  return flowFromState(new DetachedState(cloneValue(resolveDeep(record.top())) as TDict));
}
