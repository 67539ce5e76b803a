/**
 * The readable diff report: one header line per flow that differs (`~` changed, `+` only
 * in B, `-` only in A, then its title), one line per change under it, and the counts at
 * the end. Colours only when asked (a TTY); flow contents are escaped so they cannot
 * drive the terminal.
 */
import { escapeControl, prettySize } from "../display/human.js";
import { Painter, type StyleName } from "../display/style.js";
import type { BodySummary, Change, DiffSummary, FlowDiff, JsonValue, MessageSummary } from "./changes.js";
import { hasDifferences } from "./changes.js";
import type { DiffReport } from "./flow-diff.js";

/** How the readable report looks. */
export interface TextReportOptions {
  colour: boolean;
  /** most lines of one text body diff shown before the rest is counted */
  maxHunkLines?: number;
  /** most changes shown per flow before the rest is counted */
  maxChanges?: number;
}

const VALUE_CHARS = 120;
const INDENT = "    ";

const MARKS: Record<FlowDiff["status"], [string, StyleName]> = {
  same: ["=", "dim"],
  changed: ["~", "yellow"],
  added: ["+", "green"],
  removed: ["-", "red"],
};

/** Cuts a shown value to one readable line. */
function cut(text: string): string {
  const flat = escapeControl(text);
  return flat.length > VALUE_CHARS ? `${flat.slice(0, VALUE_CHARS)}…` : flat;
}

function showValue(v: JsonValue | undefined): string {
  if (v === undefined) return "(absent)";
  return cut(JSON.stringify(v));
}

function showValues(values: string[]): string {
  return values.length === 1 ? cut(values[0]!) : cut(JSON.stringify(values));
}

function showBody(b: BodySummary | null): string {
  return b === null ? "(no body)" : `${prettySize(b.size)} sha256:${b.sha256.slice(0, 12)}`;
}

function showMessage(m: MessageSummary): string {
  const who = m.from_client ? "client" : "server";
  const what = m.preview !== undefined ? JSON.stringify(m.preview) : `sha256:${m.sha256.slice(0, 12)}`;
  const flags = `${m.dropped ? " dropped" : ""}${m.injected ? " injected" : ""}`;
  return `#${m.index} ${who}${m.type ? ` ${m.type}` : ""} ${prettySize(m.size)} ${cut(what)}${flags}`;
}

/** Renders a diff as text lines through `write`. */
export class TextReport implements DiffReport {
  private readonly paint: Painter;
  private readonly maxHunkLines: number;
  private readonly maxChanges: number;

  constructor(
    private readonly write: (text: string) => void | Promise<void>,
    options: TextReportOptions,
  ) {
    this.paint = new Painter(options.colour);
    this.maxHunkLines = options.maxHunkLines ?? 60;
    this.maxChanges = options.maxChanges ?? 50;
  }

  async flow(diff: FlowDiff): Promise<void> {
    const [mark, colour] = MARKS[diff.status];
    const where = diff.status === "added" ? " (only in B)" : diff.status === "removed" ? " (only in A)" : "";
    const lines = [
      `${this.paint.paint(mark, colour, "bold")} ${this.paint.paint(escapeControl(diff.title), "bold")}${where}`,
    ];
    diff.changes.slice(0, this.maxChanges).forEach((c) => this.change(c, lines));
    if (diff.changes.length > this.maxChanges)
      lines.push(`${INDENT}${this.paint.paint(`… ${diff.changes.length - this.maxChanges} more changes`, "dim")}`);
    await this.write(`${lines.join("\n")}\n`);
  }

  async end(summary: DiffSummary): Promise<void> {
    const total = summary.same + summary.changed + summary.added + summary.removed;
    const text = hasDifferences(summary)
      ? `${summary.changed} changed, ${summary.added} added, ${summary.removed} removed, ${summary.same} same`
      : `no differences (${total} flow${total === 1 ? "" : "s"})`;
    await this.write(`${text}\n`);
  }

  private field(name: string): string {
    return this.paint.paint(name, "cyan");
  }

  private plus(text: string): string {
    return this.paint.paint(text, "green");
  }

  private minus(text: string): string {
    return this.paint.paint(text, "red");
  }

  private change(c: Change, lines: string[]): void {
    const head = `${INDENT}${this.field(escapeControl(c.field))}`; // a field may name a flow's own key (metadata["…"])
    switch (c.kind) {
      case "value":
      case "json": {
        const at = c.kind === "json" ? ` ${this.field(escapeControl(c.path))}` : "";
        if (c.a === undefined) lines.push(`${head}${at}: ${this.plus(`+ ${showValue(c.b)}`)}`);
        else if (c.b === undefined) lines.push(`${head}${at}: ${this.minus(`- ${showValue(c.a)}`)}`);
        else lines.push(`${head}${at}: ${this.minus(showValue(c.a))} → ${this.plus(showValue(c.b))}`);
        break;
      }
      case "header": {
        const name = escapeControl(c.name);
        if (c.a.length === 0) lines.push(`${head}: ${this.plus(`+ ${name}: ${showValues(c.b)}`)}`);
        else if (c.b.length === 0) lines.push(`${head}: ${this.minus(`- ${name}: ${showValues(c.a)}`)}`);
        else lines.push(`${head}: ~ ${name}: ${this.minus(showValues(c.a))} → ${this.plus(showValues(c.b))}`);
        break;
      }
      case "header-order":
        lines.push(`${head} order: ${cut(c.a.join(", "))} → ${cut(c.b.join(", "))}`);
        break;
      case "body":
        lines.push(`${head}: ${this.minus(showBody(c.a))} → ${this.plus(showBody(c.b))}`);
        break;
      case "message":
        if (!c.a) lines.push(`${head}: ${this.plus(`+ ${showMessage(c.b!)}`)}`);
        else if (!c.b) lines.push(`${head}: ${this.minus(`- ${showMessage(c.a)}`)}`);
        else lines.push(`${head}: ~ ${this.minus(showMessage(c.a))} → ${this.plus(showMessage(c.b))}`);
        break;
      case "text": {
        lines.push(`${head}:`);
        let shown = 0;
        let total = 0;
        for (const h of c.hunks) {
          total += h.lines.length + 1;
          if (shown >= this.maxHunkLines) continue;
          lines.push(
            `${INDENT}  ${this.paint.paint(`@@ -${h.a_start},${h.a_lines} +${h.b_start},${h.b_lines} @@`, "magenta")}`,
          );
          shown++;
          for (const line of h.lines) {
            if (shown >= this.maxHunkLines) break;
            const text = escapeControl(line);
            lines.push(`${INDENT}  ${line[0] === "+" ? this.plus(text) : line[0] === "-" ? this.minus(text) : text}`);
            shown++;
          }
        }
        if (total > shown) lines.push(`${INDENT}  ${this.paint.paint(`… ${total - shown} more lines`, "dim")}`);
        break;
      }
    }
  }
}
