/**
 * Writes flows as mitm tnetstrings at one target version. Per flow it does the least work
 * that is still exact: an untouched flow already at the target version is copied from its
 * original bytes; of a flow read at the target version only the entries read are encoded
 * (from its state, where parts nobody read are copied verbatim); anything else is migrated
 * to 21 and converted down.
 */
import { type FlowState, FlowRecord, type StoredVersion } from "./flow-record.js";
import { NEWEST_VERSION, WRITABLE_VERSIONS, type WritableVersion, downgradeTo } from "./migrations/index.js";
import { TnetEncoder } from "./tnetstring.js";

/** The writable version nearest above a stored one: 19 (a dev-only format) → 20, anything before 17 → 21. */
export function writableFor(v: StoredVersion | null): WritableVersion {
  if (typeof v !== "number" || v < 17) return NEWEST_VERSION;
  if (v === 19) return 20;
  return (WRITABLE_VERSIONS as readonly number[]).includes(v) ? (v as WritableVersion) : NEWEST_VERSION;
}

export class MitmEncoder {
  private readonly encoder = new TnetEncoder(4 << 20);

  constructor(readonly version: WritableVersion) {}

  /** True when the flow goes out as the bytes it was read from: untouched, at the target version. */
  isVerbatim(flow: FlowState): boolean {
    return flow instanceof FlowRecord && flow.storedVersion === this.version && !flow.touched;
  }

  /** The flow's bytes at the target version; a view valid until the next call. */
  encode(flow: FlowState): Buffer {
    // An untouched flow at the target version is its bytes. Of one where only some entries
    // were read (a filter, a script changing the response), the encoder encodes those and
    // copies the others from the original bytes (see IndexedDict).
    if (this.isVerbatim(flow)) return (flow as FlowRecord).raw.bytes;
    try {
      if (flow.version === this.version) return this.encoder.encode(flow.top());
      return this.encoder.encode(downgradeTo(flow.promote(), this.version));
    } catch (e) {
      throw flow instanceof FlowRecord ? flow.error(e) : e;
    }
  }
}
