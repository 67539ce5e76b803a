/** The filter as a stage: flows it does not match go no further, or pass by the later stages. */
import type { Filter } from "../filter/index.js";
import { FlowRecord } from "../format/flow-record.js";
import { PassingFlow } from "./passing-flow.js";
import type { FlowStage, Verdict } from "./stage.js";

const NONE: PassingFlow[] = [];

/** Drops the flows `filter` does not match, or with `keepUnmatched` passes them by to the sinks; counts them. */
export class FilterStage implements FlowStage {
  readonly reads = "model";
  readonly keepsFlows = false;
  readonly overlaps = false;
  /** flows the filter did not match */
  unmatched = 0;

  constructor(
    readonly filter: Filter,
    private readonly keepUnmatched = false,
  ) {}

  process(flow: PassingFlow): Verdict {
    let matched: boolean;
    try {
      // The matchers read only the parts they test, and read them from a copy of an untouched
      // native record: the record itself stays untouched, so a matching flow is written as
      // the bytes it was read from rather than encoded again from what was read.
      matched = this.filter.match(testedFlow(flow).flow);
    } catch (e) {
      throw flow.damage(e);
    }
    if (matched) return true;
    this.unmatched++;
    return this.keepUnmatched ? "pass-by" : false;
  }

  followers(): PassingFlow[] {
    return NONE;
  }
}

/** What the filter reads of `flow`: a reading copy of its record while nothing has read that record yet. */
function testedFlow(flow: PassingFlow): PassingFlow {
  const state = flow.state;
  return state instanceof FlowRecord && state.isNative && !state.touched ? new PassingFlow(state.readingCopy()) : flow;
}
