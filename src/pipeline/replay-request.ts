/**
 * `ctx.replayRequest(flow)`: sends a flow's request again over the network and puts the
 * answer in as its response, as mitmproxy 0.14's blocking replay_request did.
 */
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { type Flow, HTTPFlow, Headers, Response } from "../model/index.js";

/** Headers that belong to one connection (RFC 9110 §7.6.1), not to the message. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te"]);

/** Replays `flow`'s request; the new response keeps the wire's header order and case, and its body as sent. */
export async function replayRequest(flow: Flow): Promise<void> {
  if (!(flow instanceof HTTPFlow)) throw new TypeError(`replayRequest needs an HTTP flow, not ${flow.type}`);
  const req = flow.request;
  const send = req.scheme === "https" ? httpsRequest : httpRequest;
  const headers: [string, string][] = [...req.headers].filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase()));
  const body = req.rawContent ?? Buffer.alloc(0);
  const started = Date.now() / 1000;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const r = send({
      host: req.host,
      port: req.port,
      method: req.method,
      path: req.path,
      // a flat [name, value, name, value...] list keeps order, case and repeats
      headers: headers.flat(),
      setHost: !headers.some(([n]) => n.toLowerCase() === "host"),
    });
    r.once("response", resolve);
    r.once("error", reject);
    r.end(body);
  });
  const headersAt = Date.now() / 1000;
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  const pairs: [string, string][] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
  const response = Response.make(res.statusCode ?? 0, Buffer.alloc(0), new Headers(pairs));
  response.rawContent = Buffer.concat(chunks); // as on the wire: still content-encoded
  response.reason = res.statusMessage ?? "";
  response.httpVersion = `HTTP/${res.httpVersion}`;
  response.timestampStart = Math.max(started, headersAt);
  response.timestampEnd = Date.now() / 1000;
  flow.response = response;
  flow.isReplay = "request";
}
