/** Scripts the run tests write into a temp dir (each test gets its own copy). */

/** Records every event it gets, tagged with its name (argv[1]), into a JSON-lines file (argv[2]). */
export const RECORDER = `
import { appendFileSync } from "node:fs";
import type { ScriptContext } from "reflow";
const rec = (ctx: ScriptContext, event: string, id: string | null, extra: unknown = null) =>
  appendFileSync(ctx.out, JSON.stringify({ script: ctx.name, event, id, extra }) + "\\n");
export function start(ctx: ScriptContext, argv: string[]) { ctx.name = argv[1]; ctx.out = argv[2]; rec(ctx, "start", null, argv); }
export function request(ctx: ScriptContext, flow: any) { rec(ctx, "request", flow.id); }
export function responseheaders(ctx: ScriptContext, flow: any) { rec(ctx, "responseheaders", flow.id); }
export function response(ctx: ScriptContext, flow: any) { rec(ctx, "response", flow.id); }
export function error(ctx: ScriptContext, flow: any) { rec(ctx, "error", flow.id); }
export function websocket_message(ctx: ScriptContext, flow: any, m: any) { rec(ctx, "websocket_message", flow.id, m.fromClient); }
export function tcp_message(ctx: ScriptContext, m: any) { rec(ctx, "tcp_message", m.flow.id, m.fromClient); }
export function udp_message(ctx: ScriptContext, m: any) { rec(ctx, "udp_message", m.flow.id, m.fromClient); }
export function dns_request(ctx: ScriptContext, flow: any) { rec(ctx, "dns_request", flow.id); }
export function dns_response(ctx: ScriptContext, flow: any) { rec(ctx, "dns_response", flow.id); }
export function done(ctx: ScriptContext) { rec(ctx, "done", null); }
`;

/** Kills flows whose path contains argv[1]; duplicates those whose path contains argv[2]. */
export const KILL_AND_DUPLICATE = `
import type { HTTPFlow, ScriptContext } from "reflow";
export function start(ctx: ScriptContext, argv: string[]) { ctx.kill = argv[1]; ctx.dup = argv[2]; }
export function request(ctx: ScriptContext, flow: HTTPFlow) {
  if (flow.request.path.includes(ctx.kill)) ctx.killFlow(flow);
  if (flow.request.path.includes(ctx.dup)) ctx.duplicateFlow(flow).comment = "the copy";
}
export function response(ctx: ScriptContext, flow: HTTPFlow) { flow.response!.headers.set("x-seen", "yes"); }
`;

/** Replays every request to the origin named in argv[1] (host:port) and keeps the new response. */
export const REPLAY = `
import type { HTTPFlow, ScriptContext } from "reflow";
export function start(ctx: ScriptContext, argv: string[]) { ctx.target = argv[1]; }
export async function request(ctx: ScriptContext, flow: HTTPFlow) {
  const [host, port] = ctx.target.split(":");
  flow.request.host = host;
  flow.request.port = Number(port);
  flow.request.scheme = "http";
  await ctx.replayRequest(flow);
}
`;

/** A concurrent request hook that records how many hooks are in flight at once. */
export const CONCURRENT = `
import { appendFileSync } from "node:fs";
import { concurrent, type HTTPFlow, type ScriptContext } from "reflow";
let inFlight = 0;
export function start(ctx: ScriptContext, argv: string[]) { ctx.out = argv[1]; }
export const request = concurrent(async (ctx: ScriptContext, flow: HTTPFlow) => {
  inFlight++;
  appendFileSync(ctx.out, JSON.stringify({ id: flow.id, inFlight }) + "\\n");
  // later flows start while this one waits; the first ones wait longest
  await new Promise((r) => setTimeout(r, 400 - Math.min(350, inFlight * 40)));
  inFlight--;
  flow.comment = "looked at";
});
export function response(ctx: ScriptContext, flow: HTTPFlow) { flow.response!.headers.set("x-after", flow.comment); }
`;

/** Sleeps on every flow, so a test can kill the process mid-run. */
export const SLOW = `
import type { ScriptContext } from "reflow";
export async function request(ctx: ScriptContext) {
  ctx.log("request", "info"); // with -v: the line a test waits for
  await new Promise((r) => setTimeout(r, 200));
}
`;

/** Throws on the flow whose path is argv[1]. */
export const THROWS = `
import type { HTTPFlow, ScriptContext } from "reflow";
export function start(ctx: ScriptContext, argv: string[]) { ctx.path = argv[1]; }
export function response(ctx: ScriptContext, flow: HTTPFlow) {
  if (flow.request.path === ctx.path) {
    throw new Error("boom on " + flow.request.path);
  }
  flow.response!.headers.set("x-ok", "1");
}
`;

/** Does not compile. */
export const BROKEN = `export function request( {`;

/**
 * Uses reflow's classes as values, not only as types: the flows the CLI hands over must be
 * instances of the classes \`import ... from "reflow"\` gives, and a FlowWriter of the library
 * must take them. Writes each HTTP flow to the file named in argv[1].
 */
export const LIBRARY_CLASSES = `
import { Flow, HTTPFlow, FlowWriter, Headers, type ScriptContext } from "reflow";
export async function start(ctx: ScriptContext, argv: string[]) { ctx.writer = await FlowWriter.open(argv[1]); }
export async function request(ctx: ScriptContext, flow: Flow) {
  if (!(flow instanceof HTTPFlow)) throw new Error("the flow is not an HTTPFlow of the library");
  if (!(flow.request.headers instanceof Headers)) throw new Error("the headers are not Headers of the library");
  await ctx.writer.write(flow);
}
export async function done(ctx: ScriptContext) { await ctx.writer.close(); }
`;
