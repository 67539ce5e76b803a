/**
 * The `~code` operators of mitmproxy's filter language (newest set, mitmdump-reference §3.1):
 * what argument each takes, how its regex is compiled, and how it reads in words.
 */

/** What follows an operator: nothing, a regex (word or quoted string), or digits. */
export type ArgumentKind = "none" | "regex" | "int";

/**
 * How deep into a flow an operator reads, cheapest first: the flow's own entries, the
 * request or response line (or a connection), header blocks, bodies and messages.
 */
export const READ_DEPTHS = ["flow", "line", "headers", "bodies"] as const;
export type ReadDepth = (typeof READ_DEPTHS)[number];

/** One `~code` operator of the language. */
export interface OperatorSpec {
  /** the code without its `~` */
  readonly code: string;
  readonly argument: ArgumentKind;
  /** what it tests, in words: the whole phrase, or the subject of "matches /re/" */
  readonly phrase: string;
  /** regex flags besides `i`: `m` where mitmproxy matches per line, `s` for bodies */
  readonly flags?: "m" | "s";
  /** how deep it reads; `bodies`: HTTP bodies, WebSocket/TCP/UDP messages, DNS records */
  readonly reads: ReadDepth;
  /** one line for `reflow filter --help` */
  readonly help: string;
}

const op = (spec: OperatorSpec): [string, OperatorSpec] => [spec.code, spec];

/** Every operator, by code. */
export const OPERATORS: ReadonlyMap<string, OperatorSpec> = new Map([
  op({ code: "all", argument: "none", reads: "flow", phrase: "all flows", help: "every flow" }),
  op({ code: "a", argument: "none", reads: "headers", phrase: "is asset", help: "response is an asset: CSS, JavaScript, image, font" }),
  op({ code: "e", argument: "none", reads: "flow", phrase: "has error", help: "flow has an error" }),
  op({ code: "http", argument: "none", reads: "flow", phrase: "is an HTTP flow", help: "HTTP flows (WebSocket included)" }),
  op({ code: "websocket", argument: "none", reads: "flow", phrase: "is a WebSocket flow", help: "HTTP flows with a WebSocket" }),
  op({ code: "tcp", argument: "none", reads: "flow", phrase: "is a TCP flow", help: "TCP flows" }),
  op({ code: "udp", argument: "none", reads: "flow", phrase: "is a UDP flow", help: "UDP flows" }),
  op({ code: "dns", argument: "none", reads: "flow", phrase: "is a DNS flow", help: "DNS flows" }),
  op({ code: "q", argument: "none", reads: "line", phrase: "has no response", help: "request with no response (HTTP, DNS)" }),
  op({ code: "s", argument: "none", reads: "line", phrase: "has response", help: "has a response (HTTP, DNS)" }),
  op({ code: "marked", argument: "none", reads: "flow", phrase: "is marked", help: "flow is marked" }),
  op({ code: "replay", argument: "none", reads: "flow", phrase: "flow has been replayed", help: "flow was replayed" }),
  op({
    code: "replayq",
    argument: "none",
    reads: "flow",
    phrase: "request has been replayed",
    help: "request was replayed (client replay)",
  }),
  op({
    code: "replays",
    argument: "none",
    reads: "flow",
    phrase: "response has been replayed",
    help: "response was replayed (server replay)",
  }),
  op({
    code: "b",
    argument: "regex",
    phrase: "body",
    flags: "s",
    reads: "bodies",
    help: "request or response body, any WebSocket/TCP/UDP message, DNS records",
  }),
  op({
    code: "bq",
    argument: "regex",
    phrase: "request body",
    flags: "s",
    reads: "bodies",
    help: "request body, client-sent messages",
  }),
  op({
    code: "bs",
    argument: "regex",
    phrase: "response body",
    flags: "s",
    reads: "bodies",
    help: "response body, server-sent messages",
  }),
  op({
    code: "h",
    argument: "regex",
    reads: "headers",
    phrase: "header",
    flags: "m",
    help: "request or response header lines (`Name: value`)",
  }),
  op({ code: "hq", argument: "regex", reads: "headers", phrase: "request header", flags: "m", help: "request header lines" }),
  op({ code: "hs", argument: "regex", reads: "headers", phrase: "response header", flags: "m", help: "response header lines" }),
  op({ code: "t", argument: "regex", reads: "headers", phrase: "content type", help: "request or response Content-Type" }),
  op({ code: "tq", argument: "regex", reads: "headers", phrase: "request content type", help: "request Content-Type" }),
  op({ code: "ts", argument: "regex", reads: "headers", phrase: "response content type", help: "response Content-Type" }),
  op({ code: "m", argument: "regex", reads: "line", phrase: "method", help: "request method" }),
  op({ code: "d", argument: "regex", reads: "headers", phrase: "domain", help: "request host or Host header" }),
  op({ code: "u", argument: "regex", reads: "headers", phrase: "url", help: "URL (pretty form); DNS: the question name" }),
  op({ code: "src", argument: "regex", reads: "line", phrase: "source address", help: "client address, `ip:port`" }),
  op({ code: "dst", argument: "regex", reads: "line", phrase: "destination address", help: "server address, `host:port`" }),
  op({ code: "meta", argument: "regex", reads: "flow", phrase: "flow metadata", flags: "m", help: "metadata as `key: value` lines" }),
  op({ code: "marker", argument: "regex", reads: "flow", phrase: "marker", help: "the marker (emoji or `:name:`)" }),
  op({ code: "comment", argument: "regex", reads: "flow", phrase: "comment", flags: "m", help: "flow comment" }),
  op({ code: "c", argument: "int", reads: "line", phrase: "response code", help: "response status code (exact)" }),
]);

/** The URL operator, which a bare or quoted word stands for. */
export const URL_OPERATOR: OperatorSpec = OPERATORS.get("u")!;
