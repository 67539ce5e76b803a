/**
 * `reflow diff --html FILE`: one self-contained page (inline style, no script, no network)
 * for a person to open from CI: the counts, then each changed flow with its changes side by
 * side, A on the left and B on the right, text bodies line by line, JSON bodies by path.
 */
import { escapeControlKeepingLines } from "../display/human.js";
import type { Change, DiffSummary, FlowDiff, JsonValue, TextHunk } from "./changes.js";
import type { DiffReport } from "./flow-diff.js";

/**
 * Text as HTML; control characters shown as `\xNN` and bidi controls as `\uNNNN` (as the
 * terminal shows them), so that nothing is hidden and no text is shown reordered.
 */
function html(text: string): string {
  return escapeControlKeepingLines(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

const json = (v: JsonValue | undefined): string => (v === undefined ? '<i class="absent">absent</i>' : html(JSON.stringify(v, null, 1)));
const list = (values: string[]): string => (values.length ? values.map(html).join("<br>") : '<i class="absent">absent</i>');

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.4em} h2{font-size:1.1em;margin-top:2em;word-break:break-all}
.summary span{display:inline-block;margin-right:1.5em}
table{border-collapse:collapse;width:100%;table-layout:fixed;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.2em .4em;vertical-align:top;font-family:ui-monospace,monospace;font-size:12px;white-space:pre-wrap;word-break:break-all}
th{background:#f4f4f4;text-align:left;font-family:system-ui,sans-serif}
td.field{width:22%} .a{background:#fdecec} .b{background:#e9f7ec} .ctx{color:#666} .absent{color:#999}
.added{color:#1a7f37} .removed{color:#cf222e} .changed{color:#9a6700}`;

/** Collects the changed flows and writes the page through `write` at the end. */
export class HtmlReport implements DiffReport {
  private readonly sections: string[] = [];

  constructor(
    private readonly names: { a: string; b: string },
    private readonly write: (page: string) => void | Promise<void>,
  ) {}

  flow(diff: FlowDiff): void {
    const where = diff.status === "added" ? "only in B" : diff.status === "removed" ? "only in A" : `${diff.changes.length} changes`;
    const rows = diff.changes.map((c) => this.change(c)).join("");
    this.sections.push(
      `<section class="flow ${diff.status}"><h2><span class="${diff.status}">${diff.status}</span> ${html(diff.title)} <small>(${where})</small></h2>` +
        (rows ? `<table><tr><th class="field">field</th><th>A: ${html(this.names.a)}</th><th>B: ${html(this.names.b)}</th></tr>${rows}</table>` : "") +
        `</section>`,
    );
  }

  private change(c: Change): string {
    const row = (field: string, a: string, b: string): string => `<tr><td class="field">${html(field)}</td><td class="a">${a}</td><td class="b">${b}</td></tr>`;
    switch (c.kind) {
      case "value":
        return row(c.field, json(c.a), json(c.b));
      case "json":
        return row(`${c.field} ${c.path}`, json(c.a), json(c.b));
      case "header":
        return row(`${c.field} ${c.name}`, list(c.a), list(c.b));
      case "header-order":
        return row(`${c.field} order`, list(c.a), list(c.b));
      case "body": {
        const show = (s: typeof c.a): string => (s ? `${s.size} bytes, sha256 ${s.sha256}` : '<i class="absent">no body</i>');
        return row(c.field, show(c.a), show(c.b));
      }
      case "message": {
        const show = (m: typeof c.a): string => (m ? html(`#${m.index} ${m.from_client ? "client" : "server"} ${m.size} bytes ${m.preview ?? m.sha256}`) : '<i class="absent">absent</i>');
        return row(c.field, show(c.a), show(c.b));
      }
      case "text":
        return c.hunks.map((h) => this.hunk(c.field, h)).join("");
    }
  }

  /** A hunk side by side: context on both sides, removed lines left, added lines right, paired as they come. */
  private hunk(field: string, h: TextHunk): string {
    const rows: string[] = [];
    let minus: string[] = [];
    let plus: string[] = [];
    const flush = (): void => {
      for (let i = 0; i < Math.max(minus.length, plus.length); i++)
        rows.push(`<tr><td class="field"></td><td class="a">${html(minus[i] ?? "")}</td><td class="b">${html(plus[i] ?? "")}</td></tr>`);
      minus = [];
      plus = [];
    };
    for (const line of h.lines) {
      const text = line.slice(1);
      if (line[0] === "-") minus.push(text);
      else if (line[0] === "+") plus.push(text);
      else {
        flush();
        rows.push(`<tr><td class="field"></td><td class="ctx">${html(text)}</td><td class="ctx">${html(text)}</td></tr>`);
      }
    }
    flush();
    const head = `<tr><td class="field">${html(field)} @@ -${h.a_start},${h.a_lines} +${h.b_start},${h.b_lines}</td><td></td><td></td></tr>`;
    return head + rows.join("");
  }

  async end(summary: DiffSummary): Promise<void> {
    const count = (k: keyof DiffSummary): string => `<span class="${k}">${summary[k]} ${k}</span>`;
    await this.write(
      `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>reflow diff ${html(this.names.a)} ${html(this.names.b)}</title>` +
        `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">` +
        `<style>${STYLE}</style></head><body><h1>reflow diff</h1>` +
        `<p>A: <code>${html(this.names.a)}</code><br>B: <code>${html(this.names.b)}</code></p>` +
        `<p class="summary" id="summary">${count("changed")}${count("added")}${count("removed")}${count("same")}</p>` +
        (this.sections.length ? this.sections.join("\n") : "<p>No differences.</p>") +
        `</body></html>\n`,
    );
  }
}
