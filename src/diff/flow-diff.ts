/**
 * Diffing two flow streams: pairs them, compares each pair, and hands every flow that is
 * not the same to a report as soon as it is known, so output streams with the input.
 */
import { FlowReadError } from "../errors.js";
import { flowReadError } from "../io/flow-source.js";
import type { Flow } from "../model/index.js";
import type { DiffSummary, FlowDiff } from "./changes.js";
import type { CompareOptions, PairingMode } from "./diff-options.js";
import { FlowComparer } from "./flow-comparison.js";
import { type RetainFlow, pairFlows } from "./flow-pairing.js";
import { flowTitle } from "./flow-title.js";

/** Where a diff's findings go: every flow that is not the same, then the counts. */
export interface DiffReport {
  /** true: `flow` gets the pairs that are the same too (with their title) */
  readonly wantsSame?: boolean;
  flow(diff: FlowDiff): void | Promise<void>;
  end(summary: DiffSummary): void | Promise<void>;
}

/** How two streams are diffed. */
export interface FlowDiffOptions {
  by: PairingMode;
  compare: CompareOptions;
  /** what a flow waiting for its partner is kept as (see retained-flow.ts) */
  retain?: RetainFlow;
}

/** Compares `a` with `b`, reports each difference to `report`, and returns the counts. */
export async function diffFlowStreams(
  a: AsyncIterable<Flow>,
  b: AsyncIterable<Flow>,
  options: FlowDiffOptions,
  report: DiffReport,
): Promise<DiffSummary> {
  const comparer = new FlowComparer(options.compare);
  const summary: DiffSummary = { same: 0, changed: 0, added: 0, removed: 0 };
  for await (const pair of pairFlows(a, b, options.by, options.retain)) {
    const diff = describePair(pair.a, pair.b, comparer);
    summary[diff.status]++;
    if (diff.status !== "same") await report.flow(diff);
    else if (report.wantsSame) await report.flow({ ...diff, title: flowTitle(pair.a!) });
  }
  await report.end(summary);
  return summary;
}

function describePair(a: Flow | null, b: Flow | null, comparer: FlowComparer): FlowDiff {
  const one = (a ?? b)!;
  try {
    if (a && b) {
      const changes = comparer.compare(a, b);
      if (changes.length === 0) return { status: "same", a: a.id, b: b.id, title: "", changes };
      return { status: "changed", a: a.id, b: b.id, title: flowTitle(a), changes };
    }
    return { status: a ? "removed" : "added", a: a?.id ?? null, b: b?.id ?? null, title: flowTitle(one), changes: [] };
  } catch (e) {
    // a flow that frames but is not a valid flow: name its file, offset and index (damage
    // met through a flow's dicts names its flow already; damage met in the values compared
    // does not, so the flow that fails alone is the damaged one)
    if (e instanceof FlowReadError) throw e;
    const broken = [a, b].find((f) => f !== null && failsAlone(f, comparer)) ?? one;
    throw flowReadError(broken, e);
  }
}

/** True when comparing `flow` with itself throws: it is the one of a pair whose state is damaged. */
function failsAlone(flow: Flow, comparer: FlowComparer): boolean {
  try {
    comparer.compare(flow, flow);
    return false;
  } catch {
    return true;
  }
}
