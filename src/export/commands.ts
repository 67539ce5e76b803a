/**
 * A flow's request as a command to run by hand, as mitmproxy's export addon writes it:
 * `curl` (`-H` per header, `--compressed` for Accept-Encoding, `-X` and an explicit
 * `content-length: 0` for an empty non-GET) and `httpie` (`http METHOD URL 'Name: value'`).
 * Differences, for bodies to arrive unchanged: the body goes as `--data-binary` (curl's `-d`
 * strips newlines), and a body that is binary or holds control characters is read from a file
 * (`--data-binary @FILE`, `< FILE`) that the caller writes, where mitmproxy refuses it.
 */
import type { HTTPFlow } from "../model/index.js";
import { exportedRequest } from "./exported-request.js";
import { shellQuote } from "./shell-quote.js";

/** A command, and the body file it reads (to be written beside it), if any. */
export interface ExportedCommand {
  command: string;
  bodyFile: { path: string; bytes: Buffer } | null;
}

/** Where the body of `flow` goes when it cannot stand in the command line. */
export type BodyPath = (flow: HTTPFlow) => string;

/** The `curl` command for `flow`'s request. */
export function curlCommand(flow: HTTPFlow, bodyPath: BodyPath): ExportedCommand {
  const r = exportedRequest(flow);
  const args = ["curl"];
  for (const [name, value] of r.headers) {
    if (name.toLowerCase() === "accept-encoding") args.push("--compressed");
    else args.push("-H", `${name}: ${value}`);
  }
  if (r.method !== "GET") {
    if (!r.body) args.push("-H", "content-length: 0"); // curl sends none for no data, and some servers want one
    args.push("-X", r.method);
  }
  args.push(r.url);
  let command = args.map(shellQuote).join(" ");
  let bodyFile: ExportedCommand["bodyFile"] = null;
  if (r.body && r.bodyText !== null) command += ` --data-binary ${shellQuote(r.bodyText)}`;
  else if (r.body) {
    bodyFile = { path: bodyPath(flow), bytes: r.body };
    command += ` --data-binary ${shellQuote(`@${bodyFile.path}`)}`;
  }
  return { command, bodyFile };
}

/** The `httpie` command for `flow`'s request. */
export function httpieCommand(flow: HTTPFlow, bodyPath: BodyPath): ExportedCommand {
  const r = exportedRequest(flow);
  const args = ["http", r.method, r.url, ...r.headers.map(([name, value]) => `${name}: ${value}`)];
  let command = args.map(shellQuote).join(" ");
  let bodyFile: ExportedCommand["bodyFile"] = null;
  if (r.body && r.bodyText !== null) command += ` <<< ${shellQuote(r.bodyText)}`;
  else if (r.body) {
    bodyFile = { path: bodyPath(flow), bytes: r.body };
    command += ` < ${shellQuote(bodyFile.path)}`;
  }
  return { command, bodyFile };
}
