/**
 * The seed's body replacement with arguments: replaces OLD with NEW in every decoded
 * response body (re-encoded after, Content-Length fixed).
 *   reflow run -r fixtures/sample.mitm -s 'examples/replace.ts hello goodbye' -w out.mitm
 */
import { decoded, type HTTPFlow, type ScriptContext } from "reflow";

export function start(ctx: ScriptContext, argv: string[]): void {
  if (argv.length !== 3) throw new Error("usage: -s 'replace.ts OLD NEW'");
  ctx.old = argv[1];
  ctx.new = argv[2];
}

export function response(ctx: ScriptContext, flow: HTTPFlow): void {
  decoded(flow.response!, () => {
    const body = flow.response!.text;
    if (body !== null && body.includes(ctx.old)) flow.response!.text = body.split(ctx.old).join(ctx.new);
  });
}
