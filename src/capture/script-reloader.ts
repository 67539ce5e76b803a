/**
 * Live script reloading, as mitmproxy does it: each script's file is polled about once a
 * second; when it changed, the new code is loaded, the old script gets `done`, the new one
 * `start(argv)` and takes the old one's place in the pipeline. A script that no longer
 * loads is reported and the old one keeps running.
 */
import { statSync } from "node:fs";
import type { Pipeline } from "../pipeline/pipeline.js";
import { type LoadedScript, loadScript } from "../pipeline/script.js";

const POLL_MS = 1000;

function mtimeOf(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

async function callHook(script: LoadedScript, event: "start" | "done", report: (text: string) => void): Promise<void> {
  const hook = script.hooks[event];
  if (!hook) return;
  try {
    await (event === "start" ? hook(script.ctx, script.argv) : hook(script.ctx));
  } catch (e) {
    report(`script error in ${script.argv[0]}, ${event}:\n${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  }
}

/** Watches the pipeline's scripts and reloads those whose files change. */
export class ScriptReloader {
  private readonly mtimes: number[];
  private timer: NodeJS.Timeout | null = null;
  private busy = false;

  constructor(
    private readonly pipeline: Pipeline,
    private readonly report: (text: string) => void,
    private readonly onReload: (script: LoadedScript) => void = () => {},
  ) {
    this.mtimes = pipeline.scripts.map((s) => mtimeOf(s.path));
  }

  start(): void {
    if (this.pipeline.scripts.length === 0) return;
    this.timer = setInterval(() => void this.poll(), POLL_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Checks every script once; reloads the changed ones. */
  async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const scripts = this.pipeline.scripts;
      for (let i = 0; i < scripts.length; i++) {
        const old = scripts[i]!;
        const m = mtimeOf(old.path);
        if (m === this.mtimes[i] || m < 0) continue;
        this.mtimes[i] = m;
        let fresh: LoadedScript;
        try {
          fresh = await loadScript(old.spec, this.pipeline);
        } catch (e) {
          this.report(`${(e as Error).message}\n(keeping the previous version of ${old.argv[0]})\n`);
          continue;
        }
        await callHook(old, "done", this.report);
        this.pipeline.replaceScript(i, fresh);
        await callHook(fresh, "start", this.report);
        this.onReload(fresh);
      }
    } finally {
      this.busy = false;
    }
  }
}
