/** Several diff reports fed from one comparison (the terminal's, and a file's for CI). */
import type { DiffSummary, FlowDiff } from "./changes.js";
import type { DiffReport } from "./flow-diff.js";

/** Hands every finding to each report; the pairs that are the same only to those that want them. */
export class ReportTee implements DiffReport {
  readonly wantsSame: boolean;

  constructor(private readonly reports: readonly DiffReport[]) {
    this.wantsSame = reports.some((r) => r.wantsSame);
  }

  async flow(diff: FlowDiff): Promise<void> {
    for (const r of this.reports) if (diff.status !== "same" || r.wantsSame) await r.flow(diff);
  }

  async end(summary: DiffSummary): Promise<void> {
    for (const r of this.reports) await r.end(summary);
  }
}
