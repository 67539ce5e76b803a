/**
 * Saved inputs into one flow file: the chain a caller composes around the writer, run over
 * every input, then closed. An identity run (the caller's promise that its chain writes
 * every flow unchanged) of one regular mitm file is first made as a kernel copy of the input
 * that the normal read checks flow by flow (see InputCopy); when the copy cannot stand for
 * the output, it is thrown away and the normal run starts from the beginning.
 */
import { MigrationContext } from "../format/migrations/index.js";
import { FlowWriter, type FlowWriterOptions } from "../io/flow-writer.js";
import { CopyAbandoned } from "../io/input-copy.js";
import type { FlowChain } from "./flow-chain.js";
import { runSavedInputs, type SavedRunReport } from "./saved-flow-source.js";

/** One run into a flow file: its writer and its chain (their counts, the version written). */
export interface FlowFileRun {
  writer: FlowWriter;
  chain: FlowChain;
}

/** How writeSavedInputs runs. */
export interface FlowFileRunOptions {
  /** how the output is opened */
  writer: FlowWriterOptions;
  /** the caller's promise that `compose`'s chain drops no flow and changes none: the output may be a checked copy */
  identity: boolean;
  /** told each run as it starts (a progress display follows its chain) */
  onRun?(run: FlowFileRun): void;
}

/**
 * Runs `paths` in order through the chain `compose` builds around a FlowWriter on `output`
 * and closes it. Returns the run that wrote the output, and whether some input was damaged.
 */
export async function writeSavedInputs(
  paths: string[],
  output: string,
  compose: (writer: FlowWriter) => FlowChain,
  report: SavedRunReport,
  opts: FlowFileRunOptions,
): Promise<FlowFileRun & { damaged: boolean }> {
  if (opts.identity && paths.length === 1) {
    const copied = await runOnce(paths, output, compose, report, {
      ...opts,
      writer: { ...opts.writer, copyOf: paths[0] },
    });
    if (copied) return copied;
  }
  return (await runOnce(paths, output, compose, report, opts))!;
}

/** One run; null when its copy was abandoned (thrown away: nothing told, nothing left). */
async function runOnce(
  paths: string[],
  output: string,
  compose: (writer: FlowWriter) => FlowChain,
  report: SavedRunReport,
  opts: FlowFileRunOptions,
): Promise<(FlowFileRun & { damaged: boolean }) | null> {
  const writer = await FlowWriter.open(output, opts.writer);
  const chain = compose(writer);
  opts.onRun?.({ writer, chain });
  // A copy's damage is told once the copy stands: if it is thrown away, the normal run tells it.
  const told: Error[] = [];
  const onDamage = writer.copying ? (e: Error): void => void told.push(e) : report.onDamage;
  try {
    const damaged = await runSavedInputs(paths, new MigrationContext(), () => chain, { onDamage });
    await chain.close();
    for (const e of told) report.onDamage(e);
    return { writer, chain, damaged };
  } catch (e) {
    await writer.abort();
    if (e instanceof CopyAbandoned) return null;
    throw e;
  }
}
