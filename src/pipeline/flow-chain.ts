/**
 * The one path every flow takes: from a source, through the stages in order, to every sink.
 * `run`, `convert`, `show` and `capture` are chains of different parts; live flows enter
 * one at a time (`push`), saved ones a batch at a time (`runInput`).
 */
import { FlowReadError } from "../errors.js";
import type { PassingFlow } from "./passing-flow.js";
import type { FlowSink, FlowStage, Verdict } from "./stage.js";

/** How a chain runs. */
export interface ChainOptions {
  /** flows in flight at once while a stage overlaps them (default 16) */
  concurrency?: number;
}

interface InFlight {
  /** the flows to hand to the sinks once `task` settled, in order */
  out: PassingFlow[];
  task: Promise<void>;
  settled: boolean;
}

/** Stages then sinks, for flows that pass through in order. */
export class FlowChain {
  /** flows that entered the chain */
  flowsIn = 0;
  private readonly overlaps: boolean;
  private readonly concurrency: number;
  /** what came through the stages for the flow being pushed (without overlapping stages) */
  private readonly passed: PassingFlow[] = [];
  /** flows in flight (only while a stage overlaps them), oldest first */
  private readonly window: InFlight[] = [];

  constructor(
    readonly stages: FlowStage[],
    readonly sinks: FlowSink[],
    opts: ChainOptions = {},
  ) {
    this.overlaps = stages.some((s) => s.overlaps);
    this.concurrency = opts.concurrency ?? 16;
  }

  /** True when some stage keeps flows beyond their batch: the reader must not reuse its buffers. */
  get keepsFlows(): boolean {
    return this.stages.some((s) => s.keepsFlows);
  }

  /** True when no part reads more than the stored record: no model object is ever made. */
  get readsRecordsOnly(): boolean {
    return [...this.stages, ...this.sinks].every((p) => p.reads === "record");
  }

  /**
   * Runs the batches of one input through. Damage (in the input or found by a part reading
   * a flow) ends this input: it is returned, every flow before it having gone through.
   */
  async runInput(batches: AsyncIterable<PassingFlow[]>): Promise<FlowReadError | undefined> {
    try {
      for await (const batch of batches) {
        const pending = this.pushFrom(batch, 0);
        if (pending) await pending;
        await this.endBatch();
      }
    } catch (e) {
      if (!(e instanceof FlowReadError)) throw e;
      await this.drain();
      await this.endBatch();
      return e;
    }
    await this.drain();
    await this.endBatch();
    return undefined;
  }

  /**
   * The flows of `batch` from `from` on into the chain, in order: a promise only when some
   * part had to wait. A loop of its own, not in the async runInput, so that the optimizing
   * compiler compiles it once, small (see FlowFramer.frameInto).
   */
  private pushFrom(batch: readonly PassingFlow[], from: number): Promise<void> | void {
    for (let i = from; i < batch.length; i++) {
      const pending = this.push(batch[i]!);
      if (pending) return this.pushAfter(pending, batch, i + 1);
    }
  }

  /** The rest of a batch once a push had to wait (a script's stage: from then on, flow by flow). */
  private async pushAfter(pending: Promise<void>, batch: readonly PassingFlow[], from: number): Promise<void> {
    await pending;
    for (let i = from; i < batch.length; i++) {
      const next = this.push(batch[i]!);
      if (next) await next;
    }
  }

  /** One flow into the chain. A promise only when some part had to wait. */
  push(flow: PassingFlow): Promise<void> | void {
    this.flowsIn++;
    if (!this.overlaps) {
      // One flow at a time (the caller awaits a push that waits): one list serves them all.
      const out = this.passed;
      // emptied by pop() in the usual cases (none or one passed): setting length calls the runtime
      if (out.length === 1) out.pop();
      else if (out.length !== 0) out.length = 0;
      const pending = this.through(flow, 0, out, noRelease);
      if (pending) return pending.then(() => this.deliver(out));
      return this.deliver(out);
    }
    return this.pushOverlapping(flow);
  }

  /** Hands every flow still in flight to the sinks. */
  async drain(): Promise<void> {
    await this.drainHead(true);
  }

  /** The end of a batch: each sink sends out what it queued. */
  async endBatch(): Promise<void> {
    for (const sink of this.sinks) {
      const pending = sink.endBatch();
      if (pending) await pending;
    }
  }

  /** After the last flow: drains and closes the sinks. */
  async close(): Promise<void> {
    await this.drain();
    for (const sink of this.sinks) await sink.close();
  }

  /**
   * Takes `flow` through the stages from `first` on, collecting in `out` what reaches the end,
   * each flow followed by those its stages made from it. Synchronous until a stage returns a
   * promise.
   */
  private through(flow: PassingFlow, first: number, out: PassingFlow[], release: () => void): Promise<void> | void {
    for (let i = first; i < this.stages.length; i++) {
      const stage = this.stages[i]!;
      const verdict = stage.process(flow, release);
      if (verdict instanceof Promise) return verdict.then((v) => this.after(flow, v, stage, i, out, release));
      if (verdict === "pass-by") {
        out.push(flow);
        return;
      }
      const followers = stage.followers(flow);
      if (followers.length) return this.each(onward(flow, verdict, followers), i + 1, out, release, 0);
      if (!verdict) return; // dropped, nothing follows
    }
    out.push(flow);
  }

  /** On from stage `i` once its verdict on `flow` came. */
  private after(flow: PassingFlow, verdict: Verdict, stage: FlowStage, i: number, out: PassingFlow[], release: () => void): Promise<void> | void {
    if (verdict === "pass-by") {
      out.push(flow);
      return;
    }
    return this.each(onward(flow, verdict, stage.followers(flow)), i + 1, out, release, 0);
  }

  private each(flows: PassingFlow[], first: number, out: PassingFlow[], release: () => void, from: number): Promise<void> | void {
    for (let k = from; k < flows.length; k++) {
      const pending = this.through(flows[k]!, first, out, release);
      if (pending) return pending.then(() => this.each(flows, first, out, release, k + 1));
    }
  }

  /** The flows that came through, to every sink in turn. */
  private deliver(out: PassingFlow[]): Promise<void> | void {
    for (let k = 0; k < out.length; k++) {
      for (let s = 0; s < this.sinks.length; s++) {
        let pending: void | Promise<void>;
        try {
          pending = this.sinks[s]!.write(out[k]!);
        } catch (e) {
          throw out[k]!.damage(e);
        }
        if (pending) return this.deliverAsync(out, k, s, pending);
      }
    }
  }

  private async deliverAsync(out: PassingFlow[], k: number, s: number, pending: Promise<void>): Promise<void> {
    await pending.catch((e) => {
      throw out[k]!.damage(e);
    });
    for (let f = k; f < out.length; f++)
      for (let t = f === k ? s + 1 : 0; t < this.sinks.length; t++) {
        try {
          await this.sinks[t]!.write(out[f]!);
        } catch (e) {
          throw out[f]!.damage(e);
        }
      }
  }

  /**
   * With overlapping stages: the flow starts; the chain moves on when it is done or as soon as
   * a stage released it (at most `concurrency` in flight), and the oldest flows go to the
   * sinks as they settle, so the output keeps the input order.
   */
  private async pushOverlapping(flow: PassingFlow): Promise<void> {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const entry: InFlight = { out: [], task: Promise.resolve(), settled: false };
    entry.task = Promise.resolve(this.through(flow, 0, entry.out, release)).finally(() => {
      entry.settled = true;
    });
    this.window.push(entry);
    await Promise.race([entry.task, released]);
    await this.drainHead(false);
  }

  private async drainHead(force: boolean): Promise<void> {
    while (this.window.length && (force || this.window[0]!.settled || this.window.length >= this.concurrency)) {
      const head = this.window.shift()!;
      await head.task;
      await this.deliver(head.out);
    }
  }
}

const noRelease = (): void => {};

/** What goes on to the next stage: the flow if it passed, then its followers. */
function onward(flow: PassingFlow, passed: boolean, followers: PassingFlow[]): PassingFlow[] {
  return passed ? [flow, ...followers] : followers;
}
