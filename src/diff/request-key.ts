/** The key `--by request` pairs flows by: what was asked, not when or by which connection. */
import { createHash } from "node:crypto";
import type { Flow, HTTPFlow } from "../model/index.js";
import { flowTitle } from "./flow-title.js";

/**
 * Method, URL and a hash of the decoded request body for HTTP flows (as mitmproxy's
 * server-replay key, without its options); the flow's type and server or question otherwise.
 */
export function requestKey(flow: Flow): string {
  if (flow.type !== "http") return flowTitle(flow);
  const request = (flow as HTTPFlow).request;
  const body = request.getContent(false);
  const digest = body && body.length ? createHash("sha1").update(body).digest("base64") : "";
  return `${request.method} ${request.url} ${digest}`;
}
