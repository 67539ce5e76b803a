/**
 * A worker thread of `reflow run --jobs N`: runs the job's scripts over the files the main
 * thread hands it, one at a time, each into the output file the main thread names.
 */
import { parentPort, workerData } from "node:worker_threads";
import { ScriptLoadError } from "../errors.js";
import type { WritableVersion } from "../format/migrations/index.js";
import { FlowWriter } from "../io/flow-writer.js";
import { type BatchJob, BatchRun } from "../pipeline/batch-run.js";
import type { FromWorker, ToWorker } from "../pipeline/run-in-workers.js";
import { RunOutcomes } from "../pipeline/run-outcomes.js";
import { errorLine, scriptOutput, warn } from "./report.js";
import { ruleStages } from "./rule-options.js";

const { job, version } = workerData as { job: BatchJob; version: WritableVersion | undefined };
const port = parentPort!;
const post = (m: FromWorker): void => port.postMessage(m);
const outcomes = job.junit ? new RunOutcomes() : undefined;
const batch = new BatchRun(job, { warn, error: errorLine, print: scriptOutput }, ruleStages(job.rules, job.caseSensitive), outcomes);

try {
  await batch.start();
  post({ ready: true });
} catch (e) {
  // a ScriptLoadError crosses as its parts, so the main thread makes the same one line
  post(e instanceof ScriptLoadError ? { loadError: e.detail, script: e.script } : { loadError: (e as Error).message });
}

port.on("message", async (m: ToWorker) => {
  if ("finish" in m) {
    await batch.finish();
    post({ finished: batch.stats, startFailures: outcomes?.startFailures });
    port.close();
    return;
  }
  const writer = m.output ? await FlowWriter.open(m.output, { version, like: m.file }) : undefined;
  const damaged = await batch.runFile(m.file, writer);
  await writer?.close();
  post({ fileDone: m.file, damaged, suite: outcomes?.takeSuite() });
});
