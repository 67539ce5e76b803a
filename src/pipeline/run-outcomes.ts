/**
 * `reflow run --junit FILE`: what happened to each flow, as JUnit test cases: one suite per
 * input, one case per flow that came out of the scripts (named by method and URL), with a
 * failure for each script error on it. A flow a script killed appears only if it failed.
 */
import { type JUnitCase, type JUnitFailure, type JUnitSuite, junitXml } from "../format/junit-xml.js";
import type { Flow, HTTPFlow } from "../model/index.js";
import type { PassingFlow } from "./passing-flow.js";
import type { FlowSink } from "./stage.js";

/** A flow's name in a report: `GET https://example.com/x`, else its type and id. */
function caseName(flow: Flow): string {
  if (flow.type !== "http") return `${flow.type.toUpperCase()} ${flow.id}`;
  const request = (flow as HTTPFlow).request;
  return `${request.method} ${request.url}`;
}

/** Collects the cases of a run: a sink of the chain, beside the flow file. */
export class RunOutcomes implements FlowSink {
  readonly reads = "model";
  readonly suites: JUnitSuite[] = [];
  /** errors in `start` and `done`, which belong to no flow */
  readonly startFailures: JUnitFailure[] = [];
  private readonly failures = new Map<Flow, JUnitFailure[]>();

  /** The flows that follow come from `path`. */
  startFile(path: string): void {
    this.finishFile();
    this.suites.push({ name: path, cases: [] });
  }

  /** A script raised on `flow` (null: in `start` or `done`). */
  scriptError(flow: Flow | null, script: string, event: string, stack: string): void {
    const failure: JUnitFailure = { type: "script-error", message: `${script}, ${event}: ${stack.split("\n")[0]}`, text: stack };
    if (!flow) {
      this.startFailures.push(failure);
      return;
    }
    const list = this.failures.get(flow);
    if (list) list.push(failure);
    else this.failures.set(flow, [failure]);
  }

  /** A flow came out of the chain. */
  write(passing: PassingFlow): void {
    this.flowDone(passing.flow);
  }

  endBatch(): void {}

  /** The file's cases stay until `takeSuite` or `xml` (a chain closes per input). */
  async close(): Promise<void> {}

  /** `flow` came out of the scripts. */
  flowDone(flow: Flow): void {
    this.current().cases.push({ name: caseName(flow), classname: "reflow.run", failures: this.failures.get(flow) ?? [] });
    this.failures.delete(flow);
  }

  /** Flows that failed and never came out (killed) still get their case. */
  finishFile(): void {
    for (const [flow, failures] of this.failures) this.current().cases.push({ name: caseName(flow), classname: "reflow.run", failures });
    this.failures.clear();
  }

  /** The suite of the file just run, taken out (a `--jobs` worker sends it to the main thread). */
  takeSuite(): JUnitSuite | undefined {
    this.finishFile();
    return this.suites.pop();
  }

  /** Adds what a worker collected: a file's suite, or its start/done failures. */
  add(suite: JUnitSuite | undefined, startFailures: readonly JUnitFailure[] = []): void {
    if (suite) this.suites.push(suite);
    this.startFailures.push(...startFailures);
  }

  private current(): JUnitSuite {
    if (this.suites.length === 0) this.suites.push({ name: "scripts", cases: [] });
    return this.suites[this.suites.length - 1]!;
  }

  /** The JUnit document; errors in `start`/`done` form a suite of their own. */
  xml(): string {
    this.finishFile();
    const scripts: JUnitCase[] = this.startFailures.map((f) => ({ name: "start and done", classname: "reflow.run", failures: [f] }));
    return junitXml("reflow run", scripts.length ? [...this.suites, { name: "scripts", cases: scripts }] : this.suites);
  }
}
