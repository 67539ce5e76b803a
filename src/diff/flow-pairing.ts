/**
 * Pairing the flows of two files (`--by id`, `--by request`, `--by order`) while both are
 * read in step. Flows that have no partner yet wait in a per-key queue; files in the same
 * order (as `run` and `convert` write them) keep those queues near empty, and queues only
 * grow by as many flows as the orders diverge, so neither file is ever held whole.
 */
import type { Flow } from "../model/index.js";
import type { PairingMode } from "./diff-options.js";
import { requestKey } from "./request-key.js";

/** Two flows that belong together, or one flow with no partner (`a` null: only in B; `b` null: only in A). */
export interface FlowPair {
  a: Flow | null;
  b: Flow | null;
}

/** Which file a flow came from. */
export type Side = "a" | "b";

/** What a waiting flow is turned into (e.g. a compact copy that does not pin the read buffer). */
export type RetainFlow = (flow: Flow, side: Side) => Flow;

const KEYS: Record<Exclude<PairingMode, "order">, (flow: Flow) => string> = {
  id: (flow) => flow.id,
  request: requestKey,
};

/**
 * Yields the pairs of `a` and `b` as they are found, then the unpaired flows of A (in A's
 * order), then those of B. Keyed modes pair the i-th flow with a key in A with the i-th
 * flow with that key in B.
 */
export async function* pairFlows(
  a: AsyncIterable<Flow>,
  b: AsyncIterable<Flow>,
  mode: PairingMode,
  retain: RetainFlow = (flow) => flow,
): AsyncGenerator<FlowPair> {
  const ia = a[Symbol.asyncIterator]();
  const ib = b[Symbol.asyncIterator]();
  const keyOf = mode === "order" ? null : KEYS[mode];
  const waiting = { a: new Map<string, Waiting[]>(), b: new Map<string, Waiting[]>() };
  let arrivals = 0;
  /** Flows that began to wait this round, not yet retained: most are paired within the round. */
  const fresh: { waiting: Waiting; side: Side }[] = [];

  /** Pairs `flow` with a waiting partner from the other side, or makes it wait. */
  const offer = (flow: Flow, side: Side): FlowPair | null => {
    const key = keyOf!(flow);
    const other = side === "a" ? waiting.b : waiting.a;
    const queue = other.get(key);
    if (queue) {
      const found = queue.shift()!;
      found.paired = true;
      if (queue.length === 0) other.delete(key);
      return side === "a" ? { a: flow, b: found.flow } : { a: found.flow, b: flow };
    }
    const mine = side === "a" ? waiting.a : waiting.b;
    const kept: Waiting = { flow, arrival: arrivals++, paired: false };
    fresh.push({ waiting: kept, side });
    const own = mine.get(key);
    if (own) own.push(kept);
    else mine.set(key, [kept]);
    return null;
  };

  let doneA = false;
  let doneB = false;
  try {
    while (!doneA || !doneB) {
      const [ra, rb]: (IteratorResult<Flow> | null)[] = await Promise.all([
        doneA ? null : ia.next(),
        doneB ? null : ib.next(),
      ]);
      const fa: Flow | null = ra && !ra.done ? ra.value : null;
      const fb: Flow | null = rb && !rb.done ? rb.value : null;
      doneA ||= fa === null;
      doneB ||= fb === null;
      if (!keyOf) {
        if (fa || fb) yield { a: fa, b: fb };
        continue;
      }
      const pa = fa && offer(fa, "a");
      const pb = fb && offer(fb, "b");
      // Only a flow still waiting after its round is copied out of the read buffer: files in
      // the same order pair every flow within its round, and copy nothing.
      for (const { waiting: w, side } of fresh) if (!w.paired) w.flow = retain(w.flow, side);
      fresh.length = 0;
      if (pa) yield pa;
      if (pb) yield pb;
    }
  } finally {
    await Promise.all([ia.return?.(), ib.return?.()]);
  }
  // what is left had no partner
  yield* leftovers(waiting.a, "a");
  yield* leftovers(waiting.b, "b");
}

/** A flow waiting for its partner, and when it arrived (to give the unpaired back in file order). */
interface Waiting {
  flow: Flow;
  arrival: number;
  /** set when the partner came */
  paired: boolean;
}

function* leftovers(waiting: Map<string, Waiting[]>, side: Side): Generator<FlowPair> {
  const all: Waiting[] = [];
  for (const queue of waiting.values()) for (const w of queue) all.push(w);
  all.sort((x, y) => x.arrival - y.arrival);
  for (const { flow } of all) yield side === "a" ? { a: flow, b: null } : { a: null, b: flow };
}
