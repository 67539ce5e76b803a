/** A flow on its way through the chain: its stored state always, its model object only once something asks. */
import { FlowRecord, type FlowState } from "../format/flow-record.js";
import { LoadedFlow } from "../format/loaded-flow.js";
import { type Flow, flowFromState } from "../model/index.js";

/**
 * What stages and sinks are handed. A stage that reads only the record (`state`) keeps the
 * lazy path: no model object is made, nothing of the flow is parsed, and an untouched flow
 * is written as the bytes it was read from.
 */
export class PassingFlow {
  private model: Flow | null;

  constructor(
    readonly state: FlowState,
    model: Flow | null = null,
  ) {
    this.model = model;
  }

  /** A flow that already has its model object (a live flow, a script's copy). */
  static of(flow: Flow): PassingFlow {
    return new PassingFlow(flow.state, flow);
  }

  /** The model object, made on first use; a flow of no known type is damage, named as such. */
  get flow(): Flow {
    if (this.model) return this.model;
    try {
      this.model = flowFromState(this.state);
    } catch (e) {
      throw this.damage(e);
    }
    return this.model;
  }

  /**
   * An error met reading this flow's parts, as the FlowReadError naming its file, offset and
   * index when the flow came from a file (a flow's parts are parsed only when first read, so
   * damage shows in whatever reads it); other errors are left as they are.
   */
  damage(e: unknown): unknown {
    return this.state instanceof FlowRecord || this.state instanceof LoadedFlow ? this.state.error(e) : e;
  }
}
