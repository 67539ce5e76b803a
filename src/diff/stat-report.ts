/**
 * The `--stat` diff report: counts only — flows by status, and how many changed flows
 * differ in each field — as text or as JSON.
 */
import { escapeControl } from "../display/human.js";
import type { DiffSummary, FlowDiff } from "./changes.js";
import { hasDifferences } from "./changes.js";
import type { DiffReport } from "./flow-diff.js";

/** Counts flows by status and changed fields, and writes the counts at the end. */
export class StatReport implements DiffReport {
  /** changed flows per field, in order of first appearance */
  readonly fields = new Map<string, number>();

  constructor(
    private readonly write: (text: string) => void | Promise<void>,
    private readonly json: boolean,
  ) {}

  flow(diff: FlowDiff): void {
    for (const field of new Set(diff.changes.map((c) => c.field)))
      this.fields.set(field, (this.fields.get(field) ?? 0) + 1);
  }

  async end(summary: DiffSummary): Promise<void> {
    if (this.json) {
      await this.write(`${JSON.stringify({ summary, fields: Object.fromEntries(this.fields) })}\n`);
      return;
    }
    const lines = [
      hasDifferences(summary)
        ? `${summary.changed} changed, ${summary.added} added, ${summary.removed} removed, ${summary.same} same`
        : `no differences (${summary.same} flows)`,
    ];
    // a field may name a flow's own key (metadata["…"]): escaped, as the text report escapes it
    const shown = [...this.fields].map(([field, n]) => [escapeControl(field), n] as const);
    const width = Math.max(0, ...shown.map(([f]) => f.length));
    for (const [field, n] of shown) lines.push(`  ${field.padEnd(width)}  ${n} flow${n === 1 ? "" : "s"}`);
    await this.write(`${lines.join("\n")}\n`);
  }
}
