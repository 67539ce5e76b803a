/** The filter as a stage: flows it does not match go no further, or pass by the later stages. */
import type { Filter } from "../filter/index.js";
import type { PassingFlow } from "./passing-flow.js";
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
      // the matchers read only the parts they test: the rest stays unparsed and is written as read
      matched = this.filter.match(flow.flow);
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
