/**
 * A progress line on stderr while a command reads its inputs: only on a TTY, never in CI,
 * and only once the work has taken more than a second.
 */
import { basename } from "node:path";
import { escapeControl } from "../display/human.js";
import { type ReadPosition, watchReadPosition } from "../io/flow-source.js";

const SHOW_AFTER_MS = 1000;
const REDRAW_MS = 200;

/** Draws until stopped; a no-op where progress must not show (pipes, CI, --quiet). */
export class Progress {
  private timer: NodeJS.Timeout | undefined;
  private unwatch: (() => void) | undefined;
  private position: ReadPosition | undefined;
  private drawn = false;
  private readonly started = Date.now();

  constructor(
    private readonly files: string[],
    private readonly counted: () => number,
    quiet = false,
  ) {
    if (quiet || !process.stderr.isTTY || process.env.CI) return;
    this.unwatch = watchReadPosition((position) => (this.position = position));
    this.timer = setInterval(() => this.draw(), REDRAW_MS);
    this.timer.unref(); // never what keeps the process alive
  }

  private draw(): void {
    if (Date.now() - this.started < SHOW_AFTER_MS || !this.position) return;
    const { file, offset, size } = this.position;
    const index = Math.max(0, this.files.findIndex((f) => f === file || (f === "-" && file === "<stdin>")));
    const share = size ? Math.min(1, offset / size) : undefined;
    const width = 24;
    const bar = share === undefined ? "" : `[${"#".repeat(Math.round(share * width)).padEnd(width, " ")}] ${(share * 100).toFixed(0)}% `;
    const files = this.files.length > 1 ? `file ${index + 1}/${this.files.length} ` : "";
    const line = `${bar}${files}${escapeControl(basename(file))} · ${this.counted()} flows`; // a file's name may hold anything
    process.stderr.write(`\r\x1b[2K${line.slice(0, (process.stderr.columns || 80) - 1)}`);
    this.drawn = true;
  }

  /** Removes the line, so the summary that follows starts clean. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.unwatch?.();
    if (this.drawn) process.stderr.write("\r\x1b[2K");
  }
}
