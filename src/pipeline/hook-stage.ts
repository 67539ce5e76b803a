/**
 * A built-in stage made of event hooks (the rewrite rules) in the chain over saved flows:
 * fires `request`, then `responseheaders` and `response` when the flow has a response, on
 * each HTTP flow, as the script stage would, but keeps no flow, so the reader may reuse its
 * buffers. An error is reported and counted as a script's, and the flow goes on.
 */
import type { Flow, HTTPFlow } from "../model/index.js";
import type { PassingFlow } from "./passing-flow.js";
import type { StageHooks } from "./pipeline.js";
import type { FlowStage } from "./stage.js";

const NONE: PassingFlow[] = [];

export class HookStage implements FlowStage {
  readonly reads = "model";
  readonly keepsFlows = false;
  readonly overlaps = false;

  constructor(
    private readonly hooks: StageHooks,
    private readonly report: (event: string, flow: Flow, e: unknown) => void,
  ) {}

  process(passing: PassingFlow): boolean {
    const flow = passing.flow;
    if (flow.type !== "http") return true;
    this.fire("request", flow);
    // a request hook may have answered: the response events follow then too
    if ((flow as HTTPFlow).response) {
      this.fire("responseheaders", flow);
      this.fire("response", flow);
    }
    return true;
  }

  private fire(event: "request" | "responseheaders" | "response", flow: Flow): void {
    const hook = this.hooks[event];
    if (!hook) return;
    try {
      hook(flow);
    } catch (e) {
      this.report(event, flow, e);
    }
  }

  followers(): PassingFlow[] {
    return NONE;
  }
}
