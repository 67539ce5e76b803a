/** `reflow capture`: the live intercepting proxy, recording flows into a mitm file. */
import { type Command, Option } from "commander";
import { UsageError } from "../errors.js";
import type { WritableVersion } from "../format/migrations/index.js";
import { filterFromWords } from "../filter/index.js";
import type { LogLevel } from "../pipeline/script.js";
import type { ProxyMode } from "../proxy/proxy-mode.js";
import { parseFlowVersion } from "./flow-version.js";
import { info, scriptOutput, useColour } from "./report.js";
import { addRuleOptions, ruleStages } from "./rule-options.js";

interface CaptureOptions {
  listenPort: number;
  listenHost: string;
  mode: string;
  wfile?: string;
  afile?: string;
  script: string[];
  confdir?: string;
  sslInsecure?: boolean;
  tcpHosts?: string;
  ignoreHosts?: string;
  proxyauth?: string;
  flowVersion: WritableVersion;
  quiet?: boolean;
  detail: 0 | 1 | 2 | 3 | 4;
  timeout: number;
  headTimeout: number;
  grace: number;
  verbose: number;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** `-p`: a port, 0 for any free one. */
export function parsePort(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`-p takes a port from 0 to 65535 (got ${JSON.stringify(text)})`);
  return n;
}

/** `--proxyauth USER:PASS`, split at the first colon. */
function credentials(text: string | undefined): { user: string; pass: string } | null {
  if (text === undefined) return null;
  const colon = text.indexOf(":");
  if (colon <= 0) throw new UsageError(`--proxyauth takes USER:PASS (got ${JSON.stringify(text)})`);
  return { user: text.slice(0, colon), pass: text.slice(colon + 1) };
}

/** A number of seconds (timeouts). */
export function parseSeconds(text: string): number {
  const n = Number(text);
  if (!(n >= 0) || !Number.isFinite(n)) throw new UsageError(`expected a number of seconds, got ${JSON.stringify(text)}`);
  return n;
}

/** `--detail`: 0 to 4. */
export function parseDetail(text: string): 0 | 1 | 2 | 3 | 4 {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 4) throw new UsageError(`--detail takes 0 to 4 (got ${JSON.stringify(text)})`);
  return n as 0 | 1 | 2 | 3 | 4;
}

/** A host regex as mitmproxy reads one (case-insensitive, as host names are). */
function hostRegex(option: string, text: string | undefined): RegExp | null {
  if (text === undefined) return null;
  try {
    return new RegExp(text, "i");
  } catch (e) {
    throw new UsageError(`${option}: invalid regex ${JSON.stringify(text)}: ${(e as Error).message}`);
  }
}

/** `--confdir` as given: null for the default (~/.reflow), `~` expanded. */
export function confdirOf(text: string | undefined): string | null {
  return text === undefined || text === "~/.reflow" ? null : text.replace(/^~(?=$|\/)/, process.env.HOME ?? "~");
}

/** `-m`: regular, reverse:URL or upstream:URL; a malformed one is a usage error. */
export async function proxyModeOf(text: string): Promise<ProxyMode> {
  const { parseProxyMode, ProxyModeError } = await import("../proxy/proxy-mode.js");
  try {
    return parseProxyMode(text);
  } catch (e) {
    throw new UsageError(e instanceof ProxyModeError ? e.message : String(e));
  }
}

/** The options capture and replay take alike: upstream timeout, Ctrl-C grace, script log level. */
export function addLiveOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option("--timeout <SECONDS>", "upstream connect and inactivity timeout").default(60).argParser(parseSeconds))
    .addOption(new Option("--grace <SECONDS>", "how long in-flight exchanges may finish after Ctrl-C").default(2).argParser(parseSeconds))
    .option("-v, --verbose", "show script logs (-v info, -vv debug)", (_v: string, n: number) => n + 1, 0);
}

export function registerCapture(program: Command): void {
  const cmd = program
    .command("capture")
    .summary("run an intercepting proxy and record the traffic into a flow file")
    .description(
      "An HTTP/1.1 and HTTP/2 proxy (forward: absolute-form requests and CONNECT; or -m reverse:URL / upstream:URL / socks5) that " +
        "intercepts TLS with a CA kept in --confdir, relays WebSockets and raw TCP, and records every exchange as a " +
        "mitmproxy flow, written to OUT as soon as it completes. Scripts get the live events (clientconnect, " +
        "serverconnect, request, responseheaders, response, error, websocket_message, tcp_message, serverdisconnect, " +
        "clientdisconnect) and act on the traffic as it passes; a changed script is reloaded. Only flows matching " +
        "FILTER are written and shown. Ctrl-C writes the unfinished flows and closes the file.",
    )
    .argument("[FILTER...]", "mitmproxy filter expression: only matching flows are written and shown")
    .addOption(new Option("-p, --listen-port <PORT>", "port to listen on (0: any free port)").default(8080).argParser(parsePort))
    .option("--listen-host <HOST>", "address to listen on", "127.0.0.1")
    .option("-m, --mode <MODE>", "regular, reverse:URL, upstream:URL or socks5", "regular")
    .option("-w, --wfile <OUT>", "write the flows to OUT (- for stdout); the format from its extension: .msgpack, .har, .zhar, .jsonl, else mitm")
    .option("-a, --afile <OUT>", "append the flows to OUT")
    .option("-s, --script <'PATH ARGS'>", "a script and its arguments (repeatable; run in order)", collect, [])
    .option("--confdir <DIR>", "where the CA lives (reflow-ca.pem, or mitmproxy's mitmproxy-ca.pem)", "~/.reflow")
    .option("-k, --ssl-insecure", "don't verify upstream server certificates")
    .option("--tcp-hosts <REGEX>", "relay CONNECT targets (host or host:port) matching REGEX as raw TCP")
    .option("--ignore-hosts <REGEX>", "pass CONNECT targets matching REGEX through untouched and unrecorded")
    .option("--proxyauth <USER:PASS>", "require these credentials from clients (Proxy-Authorization: Basic; Authorization in reverse mode; SOCKS5 username/password)")
    .addOption(new Option("--flow-version <N>", "mitmproxy format version to write: 17, 18, 20 or 21").default(21).argParser(parseFlowVersion))
    .addOption(new Option("--detail <N>", "log detail: 0 none, 1 a line per flow, 2 headers, 3 bodies, 4 uncut").default(1).argParser(parseDetail))
    .option("-q, --quiet", "no flow log")
    .addOption(new Option("--head-timeout <SECONDS>", "how long a client may take to send a request's head (bodies are not limited)").default(60).argParser(parseSeconds));
  addLiveOptions(cmd);
  const rules = addRuleOptions(cmd);
  cmd
    .addHelpText(
      "after",
      `
Examples:
  reflow capture -w run.mitm                                  # proxy on 127.0.0.1:8080
  curl -x http://127.0.0.1:8080 --cacert ~/.reflow/reflow-ca-cert.pem https://example.com/
  reflow capture -m reverse:http://localhost:3000 -p 8000 -w api.mitm '~u /api'
  reflow capture -s examples/add-header.ts --flow-version 17 -w for-mitmproxy-8.mitm
  reflow capture --tcp-hosts '^db\\.internal:5432$' --ignore-hosts 'bank\\.example' -w out.mitm`,
    )
    .action(async (words: string[], opts: CaptureOptions) => {
      if (opts.wfile && opts.afile) throw new UsageError("use -w or -a, not both");
      const filter = filterFromWords(words);
      const stages = ruleStages(rules(), false);
      const mode = await proxyModeOf(opts.mode);
      // The proxy and X.509 code load only when capturing (keeps `reflow run` start-up short).
      const { runCapture } = await import("../capture/run-capture.js");
      const confdir = confdirOf(opts.confdir);
      process.exitCode = await runCapture({
        listenHost: opts.listenHost,
        listenPort: opts.listenPort,
        mode,
        outPath: opts.wfile ?? opts.afile ?? null,
        append: opts.afile !== undefined,
        scripts: opts.script,
        stages,
        confdir,
        insecure: opts.sslInsecure === true,
        tcpHosts: hostRegex("--tcp-hosts", opts.tcpHosts),
        ignoreHosts: hostRegex("--ignore-hosts", opts.ignoreHosts),
        proxyAuth: credentials(opts.proxyauth),
        flowVersion: opts.flowVersion,
        detail: opts.quiet ? 0 : opts.detail,
        // the log goes to stdout, or to stderr when the flows do (-w -)
        colour: useColour(opts.wfile === "-" ? process.stderr : process.stdout),
        filter,
        timeoutMs: opts.timeout * 1000,
        headTimeoutMs: opts.headTimeout * 1000,
        graceMs: opts.grace * 1000,
        logLevel: (["error", "info", "debug"] as LogLevel[])[Math.min(opts.verbose, 2)]!,
        status: (line) => info(line),
        scriptOutput,
      });
    });
}
