/**
 * The `--json` diff report (docs/diff-json.md): one JSON document, written as it goes —
 * the options first, then one line per flow that differs, then the counts — so a diff of
 * large files never holds its findings in memory.
 */
import type { DiffSummary, FlowDiff } from "./changes.js";
import type { DiffReport } from "./flow-diff.js";

/** The options a JSON report records, so a reader knows what was compared. */
export interface JsonReportHeader {
  by: string;
  ignore: string[];
  ignore_headers: string[];
}

/** Writes the diff as one JSON object through `write`. */
export class JsonReport implements DiffReport {
  private started = false;
  private first = true;

  constructor(
    private readonly write: (text: string) => void | Promise<void>,
    private readonly header: JsonReportHeader,
  ) {}

  private async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const h = this.header;
    await this.write(
      `{"by":${JSON.stringify(h.by)},"ignore":${JSON.stringify(h.ignore)},"ignore_headers":${JSON.stringify(h.ignore_headers)},"flows":[`,
    );
  }

  async flow(diff: FlowDiff): Promise<void> {
    await this.start();
    const { status, a, b, title, changes } = diff;
    await this.write(`${this.first ? "" : ","}\n${JSON.stringify({ status, a, b, title, changes })}`);
    this.first = false;
  }

  async end(summary: DiffSummary): Promise<void> {
    await this.start();
    await this.write(`${this.first ? "" : "\n"}],\n"summary":${JSON.stringify(summary)}}\n`);
  }
}
