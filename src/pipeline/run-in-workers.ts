/**
 * `reflow run --jobs N`: N worker threads, each with its own copy of the scripts, take the
 * input files one at a time. Per-input outputs are written by the workers; a single output
 * is assembled from per-file parts in input order, so the result equals a one-thread run.
 */
import { createReadStream, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { Worker } from "node:worker_threads";
import { ReflowError, ScriptExitError, ScriptLoadError } from "../errors.js";
import { checkAppendTarget } from "../io/append-target.js";
import { isPipeOrDevice, isRegularFile } from "../io/file-kind.js";
import { OutputFile } from "../io/output-file.js";
import type { JUnitFailure, JUnitSuite } from "../format/junit-xml.js";
import type { BatchJob, BatchRun, RunOutputs } from "./batch-run.js";
import type { PipelineStats } from "./pipeline.js";
import type { RunOutcomes } from "./run-outcomes.js";

/** Messages between the main thread and a worker. */
export type ToWorker = { file: string; output: string | null } | { finish: true };
export type FromWorker =
  | { ready: true }
  | { loadError: string; script?: string }
  | { fileDone: string; damaged: boolean; suite?: JUnitSuite }
  | { finished: BatchRun["stats"]; startFailures?: JUnitFailure[] };

/**
 * Runs `paths` over `jobs` workers started from `workerFile` (a module that serves ToWorker
 * messages with a BatchRun of `job`, see cli/run-worker.ts).
 */
export async function runInWorkers(
  workerFile: URL,
  paths: string[],
  job: BatchJob,
  outputs: RunOutputs,
  jobs: number,
  outcomes?: RunOutcomes,
): Promise<{ stats: PipelineStats; damaged: boolean }> {
  const { single, append, outputFor, version } = outputs;
  if (single && append && isRegularFile(single)) checkAppendTarget(single, "mitm"); // before any worker runs
  // parts of a single output live beside it until they are joined in order
  const besideOutput = single !== undefined && single !== "-" && !isPipeOrDevice(single);
  const partsDir = single ? mkdtempSync(join(besideOutput ? dirname(single) : tmpdir(), ".reflow-parts-")) : null;
  const partOf = (i: number): string => join(partsDir!, `${String(i).padStart(6, "0")}.mitm`);
  const total: PipelineStats = { flowsRead: 0, flowsWritten: 0, filteredOut: 0, killed: 0, duplicated: 0, scriptErrors: 0 };
  let damaged = false;
  let nextFile = 0;
  const suites: (JUnitSuite | undefined)[] = []; // by input, so the report keeps input order
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      let finished = 0;
      const count = Math.min(jobs, paths.length);
      for (let w = 0; w < count; w++) {
        const worker = new Worker(workerFile, { workerData: { job, version } });
        workers.push(worker);
        const send = (m: ToWorker): void => worker.postMessage(m);
        let current = -1;
        // a script's process.exit() ends only its worker: the run cannot finish
        let finishSent = false;
        const giveWork = (): void => {
          if (nextFile >= paths.length) {
            finishSent = true;
            return send({ finish: true });
          }
          const i = nextFile++;
          current = i;
          send({ file: paths[i]!, output: partsDir ? partOf(i) : outputFor(paths[i]!) });
        };
        worker.on("message", (m: FromWorker) => {
          if ("loadError" in m) return reject(new ScriptLoadError(m.script ?? job.scripts.join(" "), m.loadError));
          if ("ready" in m) return giveWork();
          if ("fileDone" in m) {
            damaged ||= m.damaged;
            suites[current] = m.suite;
            return giveWork();
          }
          for (const k of Object.keys(total) as (keyof PipelineStats)[]) total[k] += m.finished[k];
          outcomes?.add(undefined, m.startFailures);
          if (++finished === count) resolve();
        });
        // an exception nothing caught in a worker (a script's timer that throws) ends the run as
        // it does without --jobs: its stack, exit 1, nothing written
        worker.once("error", (e) => reject(e instanceof ReflowError ? e : new ScriptExitError(e.stack ?? String(e))));
        worker.once("exit", (code) => {
          if (!finishSent)
            reject(new ScriptExitError(`a worker ended (exit code ${code}) before the run finished, by a script calling process.exit(): no output was written`));
        });
      }
    });
    for (const suite of suites) outcomes?.add(suite);
    if (single) {
      const out = await OutputFile.open(single, { append, like: paths[0], binary: true }); // the parts are mitm
      try {
        for (let i = 0; i < paths.length; i++) {
          for await (const chunk of createReadStream(partOf(i), { highWaterMark: 1 << 20 })) await out.write(chunk as Buffer);
        }
        await out.commit();
      } catch (e) {
        await out.abort();
        throw e;
      }
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    if (partsDir) rmSync(partsDir, { recursive: true, force: true });
  }
  return { stats: total, damaged };
}
