/** `--strict` as a stage: each saved flow is read whole first; a damaged one goes no further. */
import type { FlowReadError } from "../errors.js";
import { FlowRecord } from "../format/flow-record.js";
import type { Flow } from "../model/index.js";
import { checkFlow } from "./flow-check.js";
import type { PassingFlow } from "./passing-flow.js";
import type { FlowStage } from "./stage.js";

const NONE: PassingFlow[] = [];

/** Leaves out the flows that do not read whole (as `reflow check` finds them), each told to `onDamage`. */
export class StrictStage implements FlowStage {
  readonly reads = "model";
  readonly keepsFlows = false;
  readonly overlaps = false;
  /** the first damaged flow left out since `takeDamage()` */
  private damage: FlowReadError | undefined;

  constructor(private readonly onDamage: (damage: FlowReadError) => void) {}

  process(flow: PassingFlow): boolean {
    if (!(flow.state instanceof FlowRecord)) return true;
    let model: Flow | undefined;
    try {
      model = flow.flow; // made once, for the check and the stages after it
    } catch {
      // a flow of no known type: checkFlow names the damage
    }
    const damage = checkFlow(flow.state, model);
    if (!damage) return true;
    this.onDamage(damage);
    this.damage ??= damage;
    return false;
  }

  followers(): PassingFlow[] {
    return NONE;
  }

  /** The first damaged flow left out since the last call (of the input just read), if any. */
  takeDamage(): FlowReadError | undefined {
    const damage = this.damage;
    this.damage = undefined;
    return damage;
  }
}
