/**
 * The source of saved flows: each input file through the format reader, a batch of flows
 * at a time (those whole in each stretch read), as PassingFlows that have parsed nothing yet.
 */
import type { ReadFlow } from "../format/loaded-flow.js";
import type { MigrationContext } from "../format/migrations/index.js";
import { readFlowRecordBatches } from "../io/flow-source.js";
import type { FlowChain } from "./flow-chain.js";
import { PassingFlow } from "./passing-flow.js";

/** The flows of `path` (`-` for stdin) in batches, read into reused buffers when `chain` keeps no flow. */
export async function* savedFlowBatches(
  path: string,
  migrations: MigrationContext,
  chain: FlowChain,
): AsyncGenerator<PassingFlow[]> {
  // The chain writes out at the end of every batch before the next is read: only then may
  // the reader take the batch's buffers back.
  for await (const records of readFlowRecordBatches(path, migrations, { reuseBuffers: !chain.keepsFlows })) {
    const batch = passingFlows(records);
    yield batch;
    // written: the consumer's loop and the readers' generators keep these arrays until the next batch
    batch.length = 0;
    records.length = 0;
  }
}

/** The records as PassingFlows (a loop outside the async reader: see FlowFramer.frameInto). */
function passingFlows(records: readonly ReadFlow[]): PassingFlow[] {
  const batch = new Array<PassingFlow>(records.length);
  for (let i = 0; i < records.length; i++) batch[i] = new PassingFlow(records[i]!);
  return batch;
}

/** What running saved inputs through a chain tells its caller. */
export interface SavedRunReport {
  /** an input's damage, reported as it was met (the other inputs are still read) */
  onDamage(e: Error): void;
}

/**
 * Runs every input in order through `chainFor(path)` (one chain, or one per input for
 * per-input outputs). Returns true when some input was damaged.
 */
export async function runSavedInputs(
  paths: string[],
  migrations: MigrationContext,
  chainFor: (path: string) => Promise<FlowChain> | FlowChain,
  report: SavedRunReport,
  afterEach?: (path: string, chain: FlowChain) => Promise<void>,
): Promise<boolean> {
  let damaged = false;
  for (const path of paths) {
    const chain = await chainFor(path);
    const damage = await chain.runInput(savedFlowBatches(path, migrations, chain));
    if (damage) {
      report.onDamage(damage);
      damaged = true;
    }
    await afterEach?.(path, chain);
  }
  return damaged;
}
