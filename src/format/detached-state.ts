/**
 * A flow state that lives only in memory: a complete version-21 flow dict, as made by
 * `Flow.copy()` and by code that builds new flows. Already newest, so `promote()` is itself.
 */
import { type FlowState, resolveEntry } from "./flow-record.js";
import type { TDict, TValue } from "./tnetstring.js";
import { NEWEST_VERSION } from "./migrations/index.js";

/** A version-21 flow dict held in memory. */
export class DetachedState implements FlowState {
  constructor(private readonly dict: TDict) {
    const v = dict.get("version");
    if (v !== NEWEST_VERSION)
      throw new TypeError(`a detached flow state must be version ${NEWEST_VERSION}, not ${String(v)}`);
  }

  get version(): number {
    return NEWEST_VERSION;
  }

  top(): TDict {
    return this.dict;
  }

  entry(key: string): TValue {
    return resolveEntry(this.dict, key);
  }

  promote(): TDict {
    return this.dict;
  }
}
