/**
 * A concurrent hook: each request waits on something slow (here a timer standing in for a
 * lookup service). With concurrent(), up to --concurrency flows wait at once, and the
 * output still keeps the input order.
 *   reflow run -r fixtures/sample.mitm -s examples/slow-lookup.ts -w out.mitm --concurrency 8
 */
import { concurrent, type HTTPFlow, type ScriptContext } from "reflow";
import { setTimeout as sleep } from "node:timers/promises";

export const request = concurrent(async (ctx: ScriptContext, flow: HTTPFlow) => {
  await sleep(50); // e.g. ask a service about this host
  flow.comment = `looked up ${flow.request.host}`;
  ctx.log(`looked up ${flow.request.host} for ${flow.id}`, "debug");
});
