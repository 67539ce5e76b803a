/**
 * `reflow replay`: answer requests from a recording (server replay, a proxy that never goes
 * upstream unless told to), or send a recording's requests again (`--client`).
 */
import { statSync } from "node:fs";
import { type Command, Option } from "commander";
import { ExitCode, UsageError } from "../errors.js";
import type { WritableVersion } from "../format/migrations/index.js";
import { JsonPathError, parseJsonPath } from "../model/json-path.js";
import type { LogLevel } from "../pipeline/script.js";
import type { ProxyMode } from "../proxy/proxy-mode.js";
import type { ServerReplay } from "../replay/server-replay.js";
import { EXTRA_CHOICES, type ServerReplaySettings, defaultReplaySettings, parseExtra } from "../replay/replay-settings.js";
import { addLiveOptions, confdirOf, parseDetail, parsePort, parseSeconds, proxyModeOf } from "./capture.js";
import { parseFlowVersion } from "./flow-version.js";
import { expandInputs } from "./inputs.js";
import { info, scriptOutput, useColour, warn } from "./report.js";
import { addRuleOptions, ruleStages } from "./rule-options.js";

interface ReplayOptions {
  client?: boolean;
  listenPort: number;
  listenHost: string;
  mode: string;
  wfile?: string;
  script: string[];
  confdir?: string;
  sslInsecure?: boolean;
  ignoreParams: string[];
  ignorePayloadParams: string[];
  ignoreJsonPath: string[];
  ignoreContent?: boolean;
  ignoreHost?: boolean;
  ignorePort?: boolean;
  useHeaders: string[];
  reuse?: boolean;
  extra: string;
  refresh: boolean;
  strict?: boolean;
  concurrency: number;
  flowVersion?: WritableVersion;
  detail: 0 | 1 | 2 | 3 | 4;
  timeout: number;
  grace: number;
  verbose: number;
}

/** The rewrite-rule stages of a replay (parsed before anything is read or listened on). */
type RuleStages = ReturnType<typeof ruleStages>;

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function parseConcurrency(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--concurrency takes a whole number from 1 (got ${JSON.stringify(text)})`);
  return n;
}

/** Options of server replay that client replay never reads, and the other way round. */
const SERVER_ONLY = [
  "listenPort", "listenHost", "script", "confdir", "ignoreParams", "ignorePayloadParams", "ignoreJsonPath",
  "ignoreContent", "ignoreHost", "ignorePort", "useHeaders", "reuse", "extra", "refresh", "strict", "detail", "grace",
];
const CLIENT_ONLY = ["concurrency"];

/** Refuses options given for the other kind of replay: ignored, they would fail silently (`--client --strict`). */
function refuseOtherKindsOptions(cmd: Command, client: boolean): void {
  const given = (client ? SERVER_ONLY : CLIENT_ONLY).filter((key) => cmd.getOptionValueSource(key) === "cli");
  if (given.length === 0) return;
  const flags = given.map((key) => cmd.options.filter((o) => o.attributeName() === key).map((o) => o.long).join("/"));
  throw new UsageError(
    `${flags.join(", ")}: ${client ? "only for server replay; --client would ignore" : "only for client replay (--client); server replay would ignore"} ${given.length === 1 ? "it" : "them"}`,
  );
}

/** True when `path` is one of `files` (the same file: device and inode, whatever the names). */
function isOneOf(path: string, files: string[]): boolean {
  const id = (p: string): string | null => {
    try {
      const st = statSync(p);
      return `${st.dev}:${st.ino}`;
    } catch {
      return null;
    }
  };
  const target = id(path);
  return target !== null && files.some((f) => id(f) === target);
}

/** The most unused answers `--strict` lists by name. */
const UNUSED_LISTED = 50;

/** The server-replay settings the options ask for. */
function replaySettings(opts: ReplayOptions): ServerReplaySettings {
  const extra = parseExtra(opts.extra);
  if (extra === null) throw new UsageError(`--extra takes ${EXTRA_CHOICES.join(", ")} (got ${JSON.stringify(opts.extra)})`);
  let paths;
  try {
    paths = opts.ignoreJsonPath.map(parseJsonPath);
  } catch (e) {
    throw new UsageError(`--ignore-json-path: ${e instanceof JsonPathError ? e.message : String(e)}`);
  }
  return defaultReplaySettings({
    ignoreParams: new Set(opts.ignoreParams),
    ignorePayloadParams: new Set(opts.ignorePayloadParams),
    ignoreJsonPaths: paths,
    ignoreContent: opts.ignoreContent === true,
    ignoreHost: opts.ignoreHost === true,
    ignorePort: opts.ignorePort === true,
    useHeaders: opts.useHeaders,
    reuse: opts.reuse === true,
    extra,
    refresh: opts.refresh,
  });
}

/** The closing summary of a server replay; with `strict`, exit 1 when anything missed or went unused. */
function summarize(replay: ServerReplay, strict: boolean): number {
  const t = replay.tally();
  info(`replay: ${t.served} served, ${t.missed} missed, ${t.unused.length} recorded answers never asked for`);
  if (!strict) return ExitCode.OK;
  for (const a of t.unused.slice(0, UNUSED_LISTED)) info(`never asked for: ${a.label} (${a.file} flow #${a.flowIndex})`);
  if (t.unused.length > UNUSED_LISTED) info(`… and ${t.unused.length - UNUSED_LISTED} more`);
  const failed = t.missed > 0 || t.unused.length > 0;
  if (failed) info("replay --strict: failed (every request must be answered and every recorded answer asked for)");
  return failed ? ExitCode.FINISHED_WITH_ERRORS : ExitCode.OK;
}

async function serverReplay(files: string[], opts: ReplayOptions, mode: ProxyMode, stages: RuleStages): Promise<number> {
  const settings = replaySettings(opts);
  // The proxy, X.509 and replay code load only here (keeps other commands' start-up short).
  const { RecordedAnswers } = await import("../replay/recorded-answers.js");
  const { ServerReplay } = await import("../replay/server-replay.js");
  const { runCapture } = await import("../capture/run-capture.js");
  const answers = await RecordedAnswers.load(files, settings);
  info(`Replaying ${answers.all.length} recorded answer${answers.all.length === 1 ? "" : "s"} from ${files.length} file${files.length === 1 ? "" : "s"}` + (answers.skipped ? ` (${answers.skipped} flows without an answer left out)` : ""));
  const elsewhere = mode.kind === "reverse" ? answers.notFor(mode.target) : null;
  if (elsewhere) warn(elsewhere);
  const replay = new ServerReplay(answers, settings, (line) => info(line));
  const code = await runCapture({
    listenHost: opts.listenHost,
    listenPort: opts.listenPort,
    mode,
    outPath: opts.wfile ?? null,
    append: false,
    scripts: opts.script,
    // before the answer is looked up, and on the answer served (live-capture.ts)
    stages,
    confdir: confdirOf(opts.confdir),
    insecure: opts.sslInsecure === true,
    tcpHosts: null,
    ignoreHosts: null,
    flowVersion: opts.flowVersion ?? 21,
    detail: opts.detail,
    colour: useColour(opts.wfile === "-" ? process.stderr : process.stdout),
    filter: null,
    timeoutMs: opts.timeout * 1000,
    graceMs: opts.grace * 1000,
    logLevel: (["error", "info", "debug"] as LogLevel[])[Math.min(opts.verbose, 2)]!,
    status: (line) => info(line),
    scriptOutput,
    answers: replay,
    // Nothing upstream unless misses are forwarded: not even a connection to learn a server's ALPN.
    offline: settings.extra !== "forward",
  });
  answers.close();
  return Math.max(code, summarize(replay, opts.strict === true));
}

async function clientReplay(files: string[], opts: ReplayOptions, mode: ProxyMode, stages: RuleStages): Promise<number> {
  const { runClientReplay } = await import("../replay/client-replay.js");
  const tally = await runClientReplay({
    inputs: files,
    outPath: opts.wfile ?? null,
    concurrency: opts.concurrency,
    target: mode.kind === "reverse" ? mode.target : null,
    upstreamProxy: mode.kind === "upstream" ? mode.proxy : null,
    insecure: opts.sslInsecure === true,
    timeoutMs: opts.timeout * 1000,
    version: opts.flowVersion,
    stages,
    log: (line) => info(line),
  });
  info(`client replay: ${tally.sent} sent, ${tally.failed} failed, ${tally.skipped} not replayable`);
  // a request that got no answer (refused, timed out, a TLS failure) fails the run, after it is written
  return tally.failed ? ExitCode.FINISHED_WITH_ERRORS : ExitCode.OK;
}

export function registerReplay(program: Command): void {
  const cmd = program
    .command("replay")
    .summary("answer requests from a recording (server replay), or send its requests again (--client)")
    .description(
      "Server replay: a proxy (forward, with TLS interception through the CA in --confdir, or -m reverse:URL) that " +
        "answers each request with the recorded response of the same request (method, scheme, host, port, path, " +
        "query parameters in order, body), repeated requests with their recorded answers in order. It never " +
        "connects upstream unless --extra forward. Each miss is logged with the nearest recorded request and what " +
        "differs. Ctrl-C (or SIGTERM) stops it and prints a summary.\n\n" +
        "Client replay (--client): sends every recorded request again, to its recorded server, to a new base URL " +
        "(-m reverse:URL) or through a proxy (-m upstream:URL), and writes the flows with the new responses in " +
        "recorded order, for `reflow diff old new --by request`.\n\n" +
        "Rewrite rules (--modify-headers ... --redact): server replay runs them on each request before its answer " +
        "is looked up (so they can make it match) and on the answer served; client replay on each request sent " +
        "and response received.",
    )
    .argument("<IN...>", "recordings (paths, quoted globs, - for stdin)")
    .option("--client", "client replay: send the recorded requests again")
    .addOption(new Option("-p, --listen-port <PORT>", "port to listen on (0: any free port)").default(8080).argParser(parsePort))
    .option("--listen-host <HOST>", "address to listen on", "127.0.0.1")
    .option("-m, --mode <MODE>", "server: regular, reverse:URL or socks5; client: reverse:URL (new base URL) or upstream:URL", "regular")
    .option("-w, --wfile <OUT>", "write the flows: served and missed ones (misses as error flows), or the replayed ones")
    .option("-s, --script <'PATH ARGS'>", "a script and its arguments (repeatable; served flows have isReplay = \"response\")", collect, [])
    .option("--ignore-params <NAME>", "leave query parameter NAME out of the match (repeatable)", collect, [])
    .option("--ignore-payload-params <NAME>", "leave form or multipart field NAME out of the match (repeatable)", collect, [])
    .option("--ignore-json-path <PATH>", "leave a JSON body member out of the match, as diff prints paths: '$.nonce', '$.items[*].ts' (repeatable)", collect, [])
    .option("--ignore-content", "leave the request body out of the match")
    .option("--ignore-host", "leave the host out of the match")
    .option("--ignore-port", "leave the port out of the match")
    .option("--use-headers <NAME>", "make request header NAME part of the match (repeatable)", collect, [])
    .option("--reuse", "once a request's recorded answers were served, serve the last one again")
    .option("--extra <WHAT>", `requests with no recorded answer: ${EXTRA_CHOICES.join(", ")} (a status is an empty response)`, "404")
    .option("--refresh", "shift Date, Expires, Last-Modified and cookie expiry by the recording's age", true)
    .option("--no-refresh", "serve the recorded dates as they are")
    .option("--strict", "exit 1 with a summary when a request missed or a recorded answer was never asked for")
    .option("--confdir <DIR>", "where the CA lives (reflow-ca.pem, or mitmproxy's mitmproxy-ca.pem)", "~/.reflow")
    .option("-k, --ssl-insecure", "don't verify server certificates (client replay, --extra forward)")
    .addOption(new Option("--concurrency <N>", "client replay: requests in flight at once (output keeps recorded order)").default(1).argParser(parseConcurrency))
    .addOption(new Option("--flow-version <N>", "mitmproxy format version to write: 17, 18, 20 or 21").argParser(parseFlowVersion))
    .addOption(new Option("--detail <N>", "server replay log: 0 misses only, 1 a line per flow, 2 headers, 3 bodies, 4 uncut").default(0).argParser(parseDetail));
  addLiveOptions(cmd);
  // server replay: on each request before its answer is looked up, and on the answer served;
  // --client: on each request sent and each response received
  const rules = addRuleOptions(cmd);
  cmd
    .addHelpText(
      "after",
      `
Examples:
  reflow replay api.mitm -m reverse:http://localhost:3000 -p 3000 --strict   # the app's backend, from a recording
  reflow replay 'caps/*.mitm' -p 0 --ignore-params ts --ignore-json-path '$.nonce' -w run.mitm
  curl -x http://127.0.0.1:8080 --cacert ~/.reflow/reflow-ca-cert.pem https://api.example.com/items
  reflow replay --client api.mitm -m reverse:http://staging:3000 -w new.mitm --concurrency 8
  reflow diff api.mitm new.mitm --by request --ignore-header date`,
    )
    .action(async (args: string[], opts: ReplayOptions, command: Command) => {
      refuseOtherKindsOptions(command, opts.client === true);
      const stages = ruleStages(rules(), false);
      const mode = await proxyModeOf(opts.mode);
      const files = await expandInputs(args);
      if (opts.client) {
        if (mode.kind === "socks5") throw new UsageError("--client sends requests to their servers: -m takes reverse:URL or upstream:URL there (socks5 is a server replay mode)");
        process.exitCode = await clientReplay(files, opts, mode, stages);
      } else {
        // The served flows are written into OUT as they pass, while answers are read from the inputs.
        if (opts.wfile !== undefined && isOneOf(opts.wfile, files)) throw new UsageError(`-w ${opts.wfile} is also a recording being replayed`);
        if (mode.kind === "upstream" && opts.extra !== "forward")
          throw new UsageError("-m upstream:URL only matters with --extra forward (server replay never goes upstream otherwise)");
        process.exitCode = await serverReplay(files, opts, mode, stages);
      }
    });
}
