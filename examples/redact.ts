/**
 * CI redaction: removes credentials from captures before they are shared or committed.
 * Authorization and Proxy-Authorization values, Cookie and Set-Cookie values, and secret-looking
 * query parameters become "REDACTED"; the shape of the traffic stays the same.
 *   reflow run -r 'caps/**\/*.mitm' -s examples/redact.ts -w redacted/
 * Extra parameter names to redact can be given as arguments: -s 'examples/redact.ts session_id'
 */
import type { HTTPFlow, ScriptContext } from "reflow";

const SECRET_PARAMS = ["token", "access_token", "refresh_token", "id_token", "api_key", "apikey", "key", "secret", "password", "sig", "signature"];

export function start(ctx: ScriptContext, argv: string[]): void {
  ctx.params = new Set([...SECRET_PARAMS, ...argv.slice(1)].map((p) => p.toLowerCase()));
  ctx.redacted = 0;
}

function redactHeaders(ctx: ScriptContext, headers: HTTPFlow["request"]["headers"], names: string[]): void {
  for (const name of names) {
    const values = headers.getAll(name);
    if (values.length === 0) continue;
    headers.delete(name);
    for (const v of values) {
      // keep the auth scheme and cookie names: they tell what kind of secret was there
      if (/^(authorization|proxy-authorization)$/i.test(name)) headers.add(name, v.replace(/^(\S+\s+)?.*$/, (_m, scheme: string | undefined) => `${scheme ?? ""}REDACTED`));
      else if (/^cookie$/i.test(name)) headers.add(name, v.split(";").map((c) => c.replace(/=.*/, "=REDACTED")).join(";"));
      else headers.add(name, v.replace(/^([^=]*)=[^;]*/, "$1=REDACTED"));
      ctx.redacted++;
    }
  }
}

export function request(ctx: ScriptContext, flow: HTTPFlow): void {
  redactHeaders(ctx, flow.request.headers, ["Authorization", "Proxy-Authorization", "Cookie"]);
  const query = flow.request.query;
  for (const key of [...new Set(query.keys())]) {
    if (ctx.params.has(key.toLowerCase())) {
      query.setAll(key, query.getAll(key).map(() => "REDACTED"));
      ctx.redacted++;
    }
  }
}

export function response(ctx: ScriptContext, flow: HTTPFlow): void {
  redactHeaders(ctx, flow.response!.headers, ["Set-Cookie"]);
}

export function done(ctx: ScriptContext): void {
  ctx.log(`redacted ${ctx.redacted} values`, "info");
}
