/**
 * User scripts: TypeScript or JavaScript modules loaded at run time (jiti, no build step)
 * whose exported functions are event hooks. Each gets its own ScriptContext first, for its
 * whole life, as mitmproxy 0.14's inline scripts did.
 */
import { existsSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { extname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { ScriptLoadError } from "../errors.js";
import type { Flow } from "../model/index.js";
import { splitScriptSpec } from "./script-spec.js";
import { firstLine, scriptPosition } from "./script-failure.js";

/** Every event a script may export (spec §3). */
export const SCRIPT_EVENTS = [
  "start",
  "done",
  "clientconnect",
  "clientdisconnect",
  "serverconnect",
  "serverdisconnect",
  "request",
  "responseheaders",
  "response",
  "error",
  "websocket_message",
  "tcp_message",
  "udp_message",
  "dns_request",
  "dns_response",
] as const;
export type ScriptEvent = (typeof SCRIPT_EVENTS)[number];

const CONCURRENT = Symbol.for("reflow.concurrent");

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Hook = (ctx: ScriptContext, ...args: any[]) => unknown;

/**
 * Marks a hook as concurrent: while it runs, later flows may start (up to --concurrency);
 * the output keeps input order and each flow's own events keep their order.
 */
export function concurrent<F extends Hook>(fn: F): F {
  Object.defineProperty(fn, CONCURRENT, { value: true });
  return fn;
}

export function isConcurrent(fn: unknown): boolean {
  return typeof fn === "function" && (fn as unknown as Record<symbol, unknown>)[CONCURRENT] === true;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

/** What a script context asks of the pipeline that runs it. */
export interface ScriptHost {
  log(script: LoadedScript, message: string, level: LogLevel): void;
  killFlow(flow: Flow): void;
  duplicateFlow(flow: Flow): Flow;
  replayRequest(flow: Flow): Promise<void>;
}

/** The object every hook of one script gets first; scripts keep their state on it. */
export class ScriptContext {
  // Scripts store their own state here (`ctx.old = argv[1]`).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [state: string]: any;

  constructor(
    private readonly host: ScriptHost,
    private readonly script: LoadedScript,
  ) {}

  /** Logs a message; only `error` is shown unless reflow runs with -v. */
  log(message: string, level: LogLevel = "info"): void {
    this.host.log(this.script, message, level);
  }

  /** Offline: drops the flow from the output; it gets no more events. Live: closes the connection. */
  killFlow(flow: Flow): void {
    this.host.killFlow(flow);
  }

  /** Copies the flow with a new id; the copy is written right after the original. */
  duplicateFlow(flow: Flow): Flow {
    return this.host.duplicateFlow(flow);
  }

  /** Sends the flow's request again over the network and sets the new response (isReplay = "request"). */
  replayRequest(flow: Flow): Promise<void> {
    return this.host.replayRequest(flow);
  }
}

/** A script as loaded: where from, its argv, its context and its hooks. */
export interface LoadedScript {
  spec: string;
  path: string;
  argv: string[];
  ctx: ScriptContext;
  hooks: Partial<Record<ScriptEvent, Hook>>;
}

/** Where `import ... from "reflow"` points inside scripts: this very package. */
const reflowEntry = fileURLToPath(new URL("../index.js", import.meta.url));

let jitiInstance: Promise<{ import(id: string): Promise<unknown> }> | undefined;
function loader(): Promise<{ import(id: string): Promise<unknown> }> {
  // required, not imported: importing jiti's CommonJS entry from ESM makes Node scan its
  // source for exports first, a good part of the start-up of a run with a script
  jitiInstance ??= Promise.resolve(createRequire(import.meta.url)("jiti") as typeof import("jiti")).then(({ createJiti }) => {
    // Stacks of script errors then point into the .ts source, not the transpiled code.
    process.setSourceMapsEnabled(true);
    return createJiti(import.meta.url, {
      alias: { reflow: reflowEntry },
      sourceMaps: true,
      interopDefault: true,
      moduleCache: false,
    });
  });
  return jitiInstance;
}

/** A file no loader takes: most often a mitmproxy addon (`-s add_header.py`). */
function notAModule(script: string): ScriptLoadError {
  const kind = extname(script) === ".py" ? "a Python addon" : `not a module (${extname(script)})`;
  return new ScriptLoadError(script, `${kind}: reflow runs TypeScript or JavaScript scripts (.ts, .mts, .js, .mjs)`);
}

/** Loads the script named by `spec` (path and arguments); fails with ScriptLoadError. */
export async function loadScript(spec: string, host: ScriptHost): Promise<LoadedScript> {
  const argv = splitScriptSpec(spec);
  const path = resolve(argv[0]!);
  if (!existsSync(path)) throw new ScriptLoadError(argv[0]!, "no such script");
  if (statSync(path).isDirectory()) throw new ScriptLoadError(argv[0]!, "is a directory, not a script");
  let mod: Record<string, unknown>;
  try {
    mod = (await (await loader()).import(path)) as Record<string, unknown>;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ERR_UNKNOWN_FILE_EXTENSION") throw notAModule(argv[0]!);
    // one line, at the script's own file and line: the loader's frames say nothing to its author
    throw new ScriptLoadError(scriptPosition(e, path) ?? argv[0]!, `failed to load: ${firstLine(e)}`);
  }
  const script: LoadedScript = { spec, path, argv, ctx: undefined as unknown as ScriptContext, hooks: {} };
  script.ctx = new ScriptContext(host, script);
  for (const event of SCRIPT_EVENTS) {
    const fn = mod[event];
    if (typeof fn === "function") script.hooks[event] = fn as Hook;
  }
  if (Object.keys(script.hooks).length === 0)
    throw new ScriptLoadError(argv[0]!, `exports no event hooks (expected some of: ${SCRIPT_EVENTS.join(", ")})`);
  return script;
}
