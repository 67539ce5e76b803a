/**
 * The seed's add-header script: every response gets `newheader: foo`.
 *   reflow run -r fixtures/sample.mitm -s examples/add-header.ts -w out.mitm
 */
import type { HTTPFlow, ScriptContext } from "reflow";

export function response(_ctx: ScriptContext, flow: HTTPFlow): void {
  flow.response!.headers.set("newheader", "foo");
}
