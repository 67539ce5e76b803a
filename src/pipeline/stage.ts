/**
 * The parts of the chain: a source hands out flows in batches, each flow goes through the
 * stages in order (filter, scripts; later rewrite rules and replay), and what comes out goes
 * to every sink (flow file, listing, JSON Lines, stats). Each part says what it reads of a
 * flow, so that a chain of parts that read only records never builds a model object.
 */
import type { PassingFlow } from "./passing-flow.js";

/** What a part reads of a flow: the stored record only, or the model objects scripts see. */
export type Reads = "record" | "model";

/**
 * What a stage says of a flow: go on to the next stage (true), drop it (false), or pass it by:
 * straight to the sinks as it is, no later stage sees it (`run --keep-unmatched`).
 */
export type Verdict = boolean | "pass-by";

/** A step every flow goes through: it may change the flow, drop it, or add flows after it. */
export interface FlowStage {
  readonly reads: Reads;
  /**
   * True when the stage keeps flows beyond their batch (a script may keep one): the reader
   * must then give every batch fresh read buffers.
   */
  readonly keepsFlows: boolean;
  /**
   * True when `process` may call `release` and keep working: the chain then starts the next
   * flows meanwhile (at most `concurrency` in flight) and keeps the output in input order.
   */
  readonly overlaps: boolean;
  /**
   * Works on one flow and gives its verdict: false drops it (no later stage, no sink sees it),
   * "pass-by" sends it to the sinks past the later stages. May be async. `release` says the
   * flow is waiting and others may start.
   */
  process(flow: PassingFlow, release: () => void): Verdict | Promise<Verdict>;
  /** Flows the stage made from `flow` (a script's copies): they follow it through the later stages. */
  followers(flow: PassingFlow): PassingFlow[];
}

/** Where flows end up. */
export interface FlowSink {
  readonly reads: Reads;
  /** Takes one flow, in input order. */
  write(flow: PassingFlow): void | Promise<void>;
  /**
   * The end of a batch of flows read together: what is queued goes out. Once this settles the
   * reader may reuse the batch's read buffers.
   */
  endBatch(): void | Promise<void>;
  /** After the last flow. */
  close(): Promise<void>;
}
