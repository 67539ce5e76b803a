/**
 * `reflow diff --junit FILE`: the comparison as JUnit XML for CI. One test case per flow
 * pair (named by its method and URL), passing when the pair is the same; a failure listing
 * the changes for each changed flow, and one for each flow only in A or only in B.
 */
import { junitXml, type JUnitCase } from "../format/junit-xml.js";
import type { DiffSummary, FlowDiff } from "./changes.js";
import type { DiffReport } from "./flow-diff.js";
import { TextReport } from "./text-report.js";

/** Collects the cases and writes the document through `write` at the end. */
export class JUnitReport implements DiffReport {
  readonly wantsSame = true;
  private readonly cases: JUnitCase[] = [];

  constructor(
    private readonly suiteName: string,
    private readonly write: (xml: string) => void | Promise<void>,
  ) {}

  async flow(diff: FlowDiff): Promise<void> {
    const c: JUnitCase = { name: diff.title, classname: `reflow.diff.${diff.status === "added" ? "b" : "a"}`, failures: [] };
    if (diff.status === "changed") {
      const fields = [...new Set(diff.changes.map((ch) => ch.field))];
      let text = "";
      await new TextReport((t) => void (text += t), { colour: false }).flow(diff);
      c.failures.push({ type: "changed", message: `${diff.changes.length} change${diff.changes.length === 1 ? "" : "s"}: ${fields.join(", ")}`, text });
    } else if (diff.status === "added") {
      c.failures.push({ type: "added", message: "only in B (added)", text: `flow ${diff.b}` });
    } else if (diff.status === "removed") {
      c.failures.push({ type: "removed", message: "only in A (removed)", text: `flow ${diff.a}` });
    }
    this.cases.push(c);
  }

  async end(_summary: DiffSummary): Promise<void> {
    await this.write(junitXml("reflow diff", [{ name: this.suiteName, cases: this.cases }]));
  }
}
