/**
 * A worker thread of `reflow run --jobs N`: runs the job's scripts over the files the main
 * thread hands it, one at a time, each into the output file the main thread names.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { WritableVersion } from "../format/migrations/index.js";
import { type BatchJob, BatchRun } from "../pipeline/batch-run.js";
import { FlowWriter } from "../pipeline/flow-writer.js";
import { RunOutcomes } from "../pipeline/run-outcomes.js";
import type { JUnitFailure, JUnitSuite } from "../format/junit-xml.js";
import { errorLine, warn } from "./report.js";
import { ruleStages } from "./rule-options.js";

/** Messages between the main thread and a worker. */
export type ToWorker = { file: string; output: string | null } | { finish: true };
export type FromWorker =
  | { ready: true }
  | { loadError: string }
  | { fileDone: string; damaged: boolean; suite?: JUnitSuite }
  | { finished: BatchRun["stats"]; startFailures?: JUnitFailure[] };

const { job, version } = workerData as { job: BatchJob; version: WritableVersion | undefined };
const port = parentPort!;
const post = (m: FromWorker): void => port.postMessage(m);
const outcomes = job.junit ? new RunOutcomes() : undefined;
const batch = new BatchRun(job, { warn, error: errorLine }, ruleStages(job.rules, job.caseSensitive), outcomes);

try {
  await batch.start();
  post({ ready: true });
} catch (e) {
  post({ loadError: (e as Error).message });
}

port.on("message", async (m: ToWorker) => {
  if ("finish" in m) {
    await batch.finish();
    post({ finished: batch.stats, startFailures: outcomes?.startFailures });
    port.close();
    return;
  }
  const writer = m.output ? await FlowWriter.open(m.output, { version }) : undefined;
  const damage = await batch.runFile(m.file, writer);
  await writer?.close();
  post({ fileDone: m.file, damaged: damage !== undefined, suite: outcomes?.takeSuite() });
});
