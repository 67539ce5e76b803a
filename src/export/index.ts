/**
 * `reflow export`: a flow as a command or as bytes to re-run by hand, in the formats of
 * mitmproxy's export addon (`curl`, `httpie`, `raw`, `raw_request`, `raw_response`) and as
 * a HAR entry (`har-entry`, as the HAR writer makes them).
 */
import { HarEntryMaker } from "../io/formats/har-writer.js";
import type { HTTPFlow } from "../model/index.js";
import { type BodyPath, curlCommand, httpieCommand } from "./commands.js";
import { rawExchange, rawRequest, rawResponse } from "./raw-message.js";

export { NothingToExport } from "./raw-message.js";
export { shellQuote } from "./shell-quote.js";

export const EXPORT_FORMATS = ["curl", "httpie", "raw", "raw_request", "raw_response", "har-entry"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** One flow exported: the bytes to print, and a body file the command reads, if any. */
export interface Exported {
  output: Buffer;
  bodyFile: { path: string; bytes: Buffer } | null;
}

/**
 * `flow` in `format` (throws NothingToExport when the flow lacks what the format needs).
 * `har` makes the HAR entries of one export (it times each server connection once).
 */
export function exportFlow(flow: HTTPFlow, format: ExportFormat, bodyPath: BodyPath, har = new HarEntryMaker()): Exported {
  const line = (text: string): Buffer => Buffer.from(`${text}\n`, "utf8");
  switch (format) {
    case "curl":
    case "httpie": {
      const c = (format === "curl" ? curlCommand : httpieCommand)(flow, bodyPath);
      return { output: line(c.command), bodyFile: c.bodyFile };
    }
    case "raw":
      return { output: rawExchange(flow), bodyFile: null };
    case "raw_request":
      return { output: rawRequest(flow), bodyFile: null };
    case "raw_response":
      return { output: rawResponse(flow), bodyFile: null };
    case "har-entry":
      return { output: line(JSON.stringify(har.entry(flow))), bodyFile: null };
  }
}
