/**
 * A flow read whole, for `reflow check` and `--strict`: every field of the model, bodies
 * decoded by their Content-Encoding, and the flow written at every version reflow writes
 * (each version's schema). Damage is a FlowReadError naming the file, byte offset, flow and field.
 */
import { FlowReadError, FlowStateError, WriteUnsupportedError } from "../errors.js";
import type { ReadFlow } from "../format/loaded-flow.js";
import { WRITABLE_VERSIONS } from "../format/migrations/index.js";
import { MitmEncoder } from "../format/mitm-writer.js";
import { flowOf } from "../io/flow-source.js";
import { findFlowDamage } from "../model/flow-check.js";
import { ContentEncodingError, type Flow } from "../model/index.js";

const encoders = WRITABLE_VERSIONS.map((v) => new MitmEncoder(v));

/** The damage `e` met at `field` of `record`, as the one-line error that names it. */
function damageAt(record: ReadFlow, field: string, e: unknown): FlowReadError {
  const named = record.error(e);
  if (named instanceof FlowReadError)
    return new FlowReadError(named.code, named.file, named.offset, named.flowIndex, `${field}: ${named.detail}`);
  const code = e instanceof ContentEncodingError ? "E_FLOW_CORRUPT" : "E_FLOW_SCHEMA";
  return new FlowReadError(code, record.file, record.raw.offset, record.raw.index, `${field}: ${(e as Error).message ?? String(e)}`);
}

/** Reads `record` whole (its model `flow` if already made); returns its damage, or null when it is sound. */
export function checkFlow(record: ReadFlow, flow?: Flow): FlowReadError | null {
  try {
    flow ??= flowOf(record);
  } catch (e) {
    return damageAt(record, "type", e);
  }
  const damage = findFlowDamage(flow);
  if (damage) return damageAt(record, damage.field, damage.error);
  for (const encoder of encoders) {
    try {
      encoder.encode(record);
    } catch (e) {
      if (e instanceof WriteUnsupportedError) continue; // sound, only not at this version
      if (e instanceof FlowReadError || e instanceof FlowStateError || e instanceof TypeError || e instanceof RangeError)
        return damageAt(record, `(written as version ${encoder.version})`, e);
      throw e;
    }
  }
  return null;
}
