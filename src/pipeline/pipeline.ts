/**
 * The script host: the loaded scripts in command-line order and the events fired into them.
 * Saved flows (`run`, through the ScriptStage of the flow chain) and the live proxy
 * (`capture`) both fire their events here, so a script written once works both ways.
 */
import type { Flow } from "../model/index.js";
import { type LoadedScript, type LogLevel, ScriptContext, type ScriptEvent, type ScriptHost, isConcurrent, loadScript } from "./script.js";
import { FlowReadError, FlowStateError, ScriptLoadError } from "../errors.js";
import { flowReadError } from "../io/flow-source.js";
import { firstLine, scriptPosition } from "./script-failure.js";

/** reflow's own code, whose stack frames say nothing to a script's author. */
const OWN_CODE = new URL("..", import.meta.url).href;

/** The error's stack down to the first frame inside reflow: the script's own lines. */
function scriptStack(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const lines = (e.stack ?? `${e.name}: ${e.message}`).split("\n");
  const cut = lines.findIndex((l, i) => i > 0 && (l.includes(OWN_CODE) || l.includes("node_modules/jiti/")));
  return (cut === -1 ? lines : lines.slice(0, cut)).join("\n");
}

/** Errors of one hook shown in full; the rest are counted. */
const SHOWN_ERRORS_PER_HOOK = 10;

const LEVELS: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

/** Counts for the end-of-run summary. */
export interface PipelineStats {
  flowsRead: number;
  flowsWritten: number;
  /** flows the filter did not select (dropped, or passed through without events) */
  filteredOut: number;
  killed: number;
  duplicated: number;
  scriptErrors: number;
}

/** A built-in stage's hooks (rewrite rules...): a script's, without the context argument. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type StageHooks = Partial<Record<ScriptEvent, (...args: any[]) => unknown>>;

export interface PipelineOptions {
  /** the lowest script log level shown (default "error") */
  logLevel?: LogLevel;
  /** where script logs and script errors go (default stderr) */
  print?: (text: string) => void;
}

export class Pipeline implements ScriptHost {
  readonly scripts: LoadedScript[] = [];
  readonly stats: PipelineStats = { flowsRead: 0, flowsWritten: 0, filteredOut: 0, killed: 0, duplicated: 0, scriptErrors: 0 };
  /** told of every script error, as well as the printed report (`run --junit`) */
  onScriptError?: (flow: Flow | null, script: string, event: string, stack: string) => void;
  private stageCount = 0;
  /** the events some script or stage has a hook for (made by `wants`, dropped when one is added) */
  private wanted: Set<ScriptEvent> | undefined;
  private readonly killedFlows = new WeakSet<Flow>();
  private readonly copies = new WeakMap<Flow, Flow[]>();
  private readonly logLevel: number;
  private readonly print: (text: string) => void;
  /** script errors so far per hook ("script.ts, response") */
  private readonly errorsPerHook = new Map<string, number>();

  constructor(opts: PipelineOptions = {}) {
    this.logLevel = LEVELS[opts.logLevel ?? "error"];
    this.print = opts.print ?? ((t) => process.stderr.write(t));
  }

  /** Loads scripts in order; any failure stops here, before a flow is read. */
  async loadScripts(specs: string[]): Promise<void> {
    for (const spec of specs) this.scripts.push(await loadScript(spec, this));
    this.wanted = undefined;
  }

  /**
   * Adds a built-in stage that runs before every script, after the stages added before it.
   * It takes part in events as a script does (its errors are reported and counted as one's).
   */
  addStage(name: string, hooks: StageHooks): void {
    const stage: LoadedScript = { spec: name, path: "", argv: [name], ctx: undefined as unknown as ScriptContext, hooks: {} };
    stage.ctx = new ScriptContext(this, stage);
    for (const [event, fn] of Object.entries(hooks)) if (fn) stage.hooks[event as ScriptEvent] = (_ctx, ...args: unknown[]) => fn(...args);
    this.scripts.splice(this.stageCount++, 0, stage);
    this.wanted = undefined;
  }

  /** Puts `script` in the place of the script at `index` (a live reload). */
  replaceScript(index: number, script: LoadedScript): void {
    this.scripts[index] = script;
    this.wanted = undefined;
  }

  /** True when some script has a hook for `event`: events nobody listens to are not prepared. */
  wants(event: ScriptEvent): boolean {
    // asked several times per flow: worked out once for the scripts loaded
    const wanted = (this.wanted ??= new Set(this.scripts.flatMap((s) => Object.keys(s.hooks) as ScriptEvent[])));
    return wanted.has(event);
  }

  /** True when any script hook is wrapped in `concurrent()`: only then may flows overlap. */
  get hasConcurrentHooks(): boolean {
    return this.scripts.some((s) => Object.values(s.hooks).some(isConcurrent));
  }

  /**
   * Calls `event` on every script, in order. Before a hook marked `concurrent` runs,
   * `onConcurrent` is called so the caller can move on to other flows. A hook that throws is
   * reported and counted; the others still run. Returns a promise only when some hook did
   * (awaiting plain functions would cost a turn of the event loop per hook, per flow).
   */
  fire(event: ScriptEvent, args: unknown[], flow: Flow | null, onConcurrent?: () => void): Promise<void> | undefined {
    return this.fireFrom(0, this.scripts.length, event, args, flow, onConcurrent);
  }

  /** True when a built-in stage (not a script) has a hook for `event`. */
  stagesWant(event: ScriptEvent): boolean {
    return this.anyWants(0, this.stageCount, event);
  }

  /** True when a script (not a built-in stage) has a hook for `event`. */
  scriptsWant(event: ScriptEvent): boolean {
    return this.anyWants(this.stageCount, this.scripts.length, event);
  }

  /** True when one of scripts[first, end) has a hook for `event` (asked per request: no copies). */
  private anyWants(first: number, end: number, event: ScriptEvent): boolean {
    for (let i = first; i < end; i++) if (this.scripts[i]!.hooks[event] !== undefined) return true;
    return false;
  }

  /** `fire` on the built-in stages only: server replay looks its answer up between them and the scripts. */
  fireStages(event: ScriptEvent, args: unknown[], flow: Flow | null): Promise<void> | undefined {
    return this.fireFrom(0, this.stageCount, event, args, flow);
  }

  /** `fire` on the scripts only, after `fireStages`. */
  fireScripts(event: ScriptEvent, args: unknown[], flow: Flow | null): Promise<void> | undefined {
    return this.fireFrom(this.stageCount, this.scripts.length, event, args, flow);
  }

  private fireFrom(
    first: number,
    end: number,
    event: ScriptEvent,
    args: unknown[],
    flow: Flow | null,
    onConcurrent?: () => void,
  ): Promise<void> | undefined {
    for (let i = first; i < end; i++) {
      const script = this.scripts[i]!;
      const hook = script.hooks[event];
      if (!hook) continue;
      if (flow && this.killedFlows.has(flow)) return undefined;
      if (isConcurrent(hook)) onConcurrent?.();
      let result: unknown;
      try {
        result = hook(script.ctx, ...args);
      } catch (e) {
        this.reportScriptError(script, event, flow, e);
        continue;
      }
      if (result instanceof Promise || (result && typeof (result as PromiseLike<unknown>).then === "function")) {
        return Promise.resolve(result).then(
          () => this.fireFrom(i + 1, end, event, args, flow, onConcurrent),
          (e: unknown) => {
            this.reportScriptError(script, event, flow, e);
            return this.fireFrom(i + 1, end, event, args, flow, onConcurrent);
          },
        );
      }
    }
    return undefined;
  }

  /**
   * Reports a hook's failure: the first SHOWN_ERRORS_PER_HOOK of each hook in full, the rest
   * counted (a hook failing on all 20,000 flows is one fault, not 20,000 stacks). Damage in the
   * flow that the hook happened to read is thrown on as input damage, not counted.
   */
  private reportScriptError(script: LoadedScript, event: string, flow: Flow | null, e: unknown): void {
    this.reportError(script.argv[0]!, event, flow, e);
  }

  /** Reports and counts an error of a script or a built-in stage (named `source`) in `event`, as above. */
  reportError(source: string, event: string, flow: Flow | null, e: unknown): void {
    if (flow && (e instanceof FlowReadError || e instanceof FlowStateError)) throw flowReadError(flow, e);
    this.stats.scriptErrors++;
    const key = `${source}, ${event}`;
    const count = (this.errorsPerHook.get(key) ?? 0) + 1;
    this.errorsPerHook.set(key, count);
    this.onScriptError?.(flow, source, event, scriptStack(e)); // every one, for run --junit
    if (count > SHOWN_ERRORS_PER_HOOK) return;
    const where = flow ? ` (flow ${flow.id})` : "";
    const more = count === SHOWN_ERRORS_PER_HOOK ? `(further errors in ${key} are counted, not shown)\n` : "";
    this.print(`script error in ${key}${where}:\n${scriptStack(e)}\n${more}`);
  }

  /** `start(ctx, argv)` for every script; one that throws stops the run before any flow (ScriptLoadError). */
  async start(): Promise<void> {
    for (const script of this.scripts) {
      const hook = script.hooks.start;
      if (!hook) continue;
      try {
        await hook(script.ctx, script.argv);
      } catch (e) {
        throw new ScriptLoadError(scriptPosition(e, script.path) ?? script.argv[0]!, `start() failed: ${firstLine(e)}`);
      }
    }
  }

  /** `done(ctx)` for every script, then the count of the errors not shown. */
  async done(): Promise<void> {
    await this.fireEach("done", () => []);
    for (const [key, count] of this.errorsPerHook)
      if (count > SHOWN_ERRORS_PER_HOOK) this.print(`script error in ${key}: ${count - SHOWN_ERRORS_PER_HOOK} more errors not shown\n`);
  }

  private async fireEach(event: "done", args: (s: LoadedScript) => unknown[]): Promise<void> {
    for (const script of this.scripts) {
      const hook = script.hooks[event];
      if (!hook) continue;
      try {
        await hook(script.ctx, ...args(script));
      } catch (e) {
        this.reportScriptError(script, event, null, e);
      }
    }
  }

  isKilled(flow: Flow): boolean {
    return this.killedFlows.has(flow);
  }

  /** The copies made of `flow` by duplicateFlow, in the order they were made. */
  copiesOf(flow: Flow): Flow[] {
    return this.copies.get(flow) ?? [];
  }

  // ScriptHost

  log(script: LoadedScript, message: string, level: LogLevel): void {
    if (LEVELS[level] === undefined) level = "info";
    if (LEVELS[level] >= this.logLevel) this.print(`[${level}] ${script.argv[0]}: ${message}\n`);
  }

  killFlow(flow: Flow): void {
    if (this.killedFlows.has(flow)) return;
    this.killedFlows.add(flow);
    this.stats.killed++;
  }

  duplicateFlow(flow: Flow): Flow {
    const copy = flow.copy();
    const list = this.copies.get(flow) ?? [];
    list.push(copy);
    this.copies.set(flow, list);
    this.stats.duplicated++;
    return copy;
  }

  async replayRequest(flow: Flow): Promise<void> {
    // loaded when a script first replays: Node's http and https cost every run ~7 ms to load
    const { replayRequest } = await import("./replay-request.js");
    return replayRequest(flow);
  }
}
