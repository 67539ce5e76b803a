/**
 * A whole `reflow capture` run: load scripts, open the CA and the output, start the proxy,
 * fire `start`; on SIGINT/SIGTERM stop accepting, give in-flight exchanges a moment, write
 * the unfinished flows, fire `done`, close the file.
 */
import { homedir } from "node:os";
import { join } from "node:path";
import { CaptureSetupError, ExitCode, UsageError } from "../errors.js";
import type { WritableVersion } from "../format/migrations/index.js";
import type { Filter } from "../filter/index.js";
import type { AnswerStage } from "../pipeline/answer-stage.js";
import { Pipeline, type StageHooks } from "../pipeline/pipeline.js";
import type { LogLevel } from "../pipeline/script.js";
import { CertificateAuthority, CertificateAuthorityError } from "../proxy/tls/certificates.js";
import type { ProxyMode } from "../proxy/proxy-mode.js";
import { ProxyServer } from "../proxy/proxy-server.js";
import { CaptureOutput } from "./capture-output.js";
import { LiveCapture } from "./live-capture.js";
import { ScriptReloader } from "./script-reloader.js";
import { modeTargetsItself } from "./self-target.js";

/** Everything `reflow capture` was asked for, parsed. */
export interface CaptureSettings {
  listenHost: string;
  listenPort: number;
  mode: ProxyMode;
  /** the output file (`-` for stdout), or null */
  outPath: string | null;
  append: boolean;
  scripts: string[];
  /** built-in stages (rewrite rules) that run before the scripts */
  stages?: { name: string; hooks: StageHooks }[];
  confdir: string | null;
  insecure: boolean;
  tcpHosts: RegExp | null;
  ignoreHosts: RegExp | null;
  /** --proxyauth credentials, or null */
  proxyAuth?: { user: string; pass: string } | null;
  flowVersion: WritableVersion;
  /** 0 none, 1..4 as mitmdump's --flow-detail */
  detail: 0 | 1 | 2 | 3 | 4;
  /** colour codes in the flow log */
  colour: boolean;
  filter: Filter | null;
  timeoutMs: number;
  /** how long a client may take to send a request's head */
  headTimeoutMs?: number;
  graceMs: number;
  logLevel: LogLevel;
  /** where status lines go (stderr) */
  status: (line: string) => void;
  /** where script logs and script errors go (stderr) */
  scriptOutput: (text: string) => void;
  /** answers requests after the built-in stages' request hooks, before the scripts (server replay); null: every request goes upstream */
  answers?: AnswerStage | null;
  /** connect to servers only for requests that go upstream (never to learn their ALPN) */
  offline?: boolean;
}

/** The default CA directory. */
export function defaultConfdir(): string {
  return join(homedir(), ".reflow");
}

/** Runs the capture until a signal stops it; resolves with the exit code. */
export async function runCapture(s: CaptureSettings): Promise<number> {
  const pipeline = new Pipeline({ logLevel: s.logLevel, print: s.scriptOutput });
  for (const stage of s.stages ?? []) pipeline.addStage(stage.name, stage.hooks);
  await pipeline.loadScripts(s.scripts); // a script that fails to load stops here (exit 2)

  let ca: CertificateAuthority;
  try {
    ca = await CertificateAuthority.open(s.confdir ?? defaultConfdir());
  } catch (e) {
    throw new CaptureSetupError("E_CA", e instanceof CertificateAuthorityError ? e.message : String(e));
  }

  const logStream = s.outPath === "-" ? process.stderr : process.stdout;
  const output = await CaptureOutput.open({
    path: s.outPath,
    append: s.append,
    version: s.flowVersion,
    filter: s.filter,
    detail: s.detail,
    colour: s.colour,
    log: (text) => logStream.write(text),
    onWriteError: (e) => s.status(`error: writing ${s.outPath}: ${e.message}`),
    onLeftOut: (message) => s.status(`warning: ${message}`),
  });
  const capture = new LiveCapture(pipeline, output, s.answers ?? null);
  const proxy = new ProxyServer(
    {
      host: s.listenHost,
      port: s.listenPort,
      mode: s.mode,
      ca,
      insecure: s.insecure,
      timeoutMs: s.timeoutMs,
      headTimeoutMs: s.headTimeoutMs,
      tcpHosts: s.tcpHosts,
      ignoreHosts: s.ignoreHosts,
      proxyAuth: s.proxyAuth ?? null,
      onInternalError: (e) => s.status(`internal error (connection closed; please report): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`),
      offline: s.offline === true,
    },
    capture,
  );

  // Listening for signals before the listening line is printed: whoever reads it may signal at once.
  let onSignal: (sig: NodeJS.Signals) => void = () => {};
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = (sig) => {
      stopListening();
      // A second signal stops at once; what was written so far is complete flows.
      process.once("SIGINT", () => process.exit(130));
      process.once("SIGTERM", () => process.exit(143));
      resolve(sig);
    };
  });
  const stopListening = (): void => {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  await pipeline.start();
  let address;
  try {
    address = await proxy.listen();
  } catch (e) {
    await output.close();
    stopListening();
    throw new CaptureSetupError("E_LISTEN", `cannot listen on ${s.listenHost}:${s.listenPort}: ${(e as Error).message}`);
  }
  // offline (a replay that forwards nothing), a target that is this proxy is never connected to
  const itself = s.offline ? null : await modeTargetsItself(s.mode, address);
  if (itself) {
    await proxy.stopAccepting();
    await output.close();
    stopListening();
    throw new UsageError(`${s.mode.spec}: ${itself} is this proxy itself: every request would come back to it without end`);
  }
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  s.status(`Proxy server listening at http://${shown}:${address.port}`);
  if (s.filter) s.status(`Only recording flows that match "${s.filter.expression}"`);

  const reloader = new ScriptReloader(pipeline, s.scriptOutput, (sc) => s.status(`Reloaded ${sc.argv[0]}`));
  reloader.start();

  const signal = await stopSignal;
  s.status(`${signal}: stopping (waiting up to ${s.graceMs / 1000} s for ${proxy.inFlight} exchange${proxy.inFlight === 1 ? "" : "s"} in flight)`);
  reloader.stop();
  const stopped = proxy.stopAccepting();
  await proxy.drain(s.graceMs);
  capture.stop();
  proxy.destroyAll();
  await stopped;
  await pipeline.done();
  await output.close();
  const st = pipeline.stats;
  s.status(`${st.flowsRead} flow${st.flowsRead === 1 ? "" : "s"} seen, ${output.written} written, ${st.killed} killed, ${st.scriptErrors} script errors`);
  return st.scriptErrors ? ExitCode.FINISHED_WITH_ERRORS : ExitCode.OK;
}
