/**
 * The `~code` operators of mitmproxy's filter language (newest set, mitmdump-reference §3.1):
 * what argument each takes, how its regex is compiled, and how it reads in words.
 */

/** What follows an operator: nothing, a regex (word or quoted string), or digits. */
export type ArgumentKind = "none" | "regex" | "int";

/** One `~code` operator of the language. */
export interface OperatorSpec {
  /** the code without its `~` */
  readonly code: string;
  readonly argument: ArgumentKind;
  /** what it tests, in words: the whole phrase, or the subject of "matches /re/" */
  readonly phrase: string;
  /** regex flags besides `i`: `m` where mitmproxy matches per line, `s` for bodies */
  readonly flags?: "m" | "s";
  /** true when matching reads message bodies (HTTP bodies, WebSocket/TCP/UDP messages, DNS records) */
  readonly readsBodies?: boolean;
  /** one line for `reflow filter --help` */
  readonly help: string;
}

const op = (spec: OperatorSpec): [string, OperatorSpec] => [spec.code, spec];

/** Every operator, by code. */
export const OPERATORS: ReadonlyMap<string, OperatorSpec> = new Map([
  op({ code: "all", argument: "none", phrase: "all flows", help: "every flow" }),
  op({ code: "a", argument: "none", phrase: "is asset", help: "response is an asset: CSS, JavaScript, image, font" }),
  op({ code: "e", argument: "none", phrase: "has error", help: "flow has an error" }),
  op({ code: "http", argument: "none", phrase: "is an HTTP flow", help: "HTTP flows (WebSocket included)" }),
  op({ code: "websocket", argument: "none", phrase: "is a WebSocket flow", help: "HTTP flows with a WebSocket" }),
  op({ code: "tcp", argument: "none", phrase: "is a TCP flow", help: "TCP flows" }),
  op({ code: "udp", argument: "none", phrase: "is a UDP flow", help: "UDP flows" }),
  op({ code: "dns", argument: "none", phrase: "is a DNS flow", help: "DNS flows" }),
  op({ code: "q", argument: "none", phrase: "has no response", help: "request with no response (HTTP, DNS)" }),
  op({ code: "s", argument: "none", phrase: "has response", help: "has a response (HTTP, DNS)" }),
  op({ code: "marked", argument: "none", phrase: "is marked", help: "flow is marked" }),
  op({ code: "replay", argument: "none", phrase: "flow has been replayed", help: "flow was replayed" }),
  op({
    code: "replayq",
    argument: "none",
    phrase: "request has been replayed",
    help: "request was replayed (client replay)",
  }),
  op({
    code: "replays",
    argument: "none",
    phrase: "response has been replayed",
    help: "response was replayed (server replay)",
  }),
  op({
    code: "b",
    argument: "regex",
    phrase: "body",
    flags: "s",
    readsBodies: true,
    help: "request or response body, any WebSocket/TCP/UDP message, DNS records",
  }),
  op({
    code: "bq",
    argument: "regex",
    phrase: "request body",
    flags: "s",
    readsBodies: true,
    help: "request body, client-sent messages",
  }),
  op({
    code: "bs",
    argument: "regex",
    phrase: "response body",
    flags: "s",
    readsBodies: true,
    help: "response body, server-sent messages",
  }),
  op({
    code: "h",
    argument: "regex",
    phrase: "header",
    flags: "m",
    help: "request or response header lines (`Name: value`)",
  }),
  op({ code: "hq", argument: "regex", phrase: "request header", flags: "m", help: "request header lines" }),
  op({ code: "hs", argument: "regex", phrase: "response header", flags: "m", help: "response header lines" }),
  op({ code: "t", argument: "regex", phrase: "content type", help: "request or response Content-Type" }),
  op({ code: "tq", argument: "regex", phrase: "request content type", help: "request Content-Type" }),
  op({ code: "ts", argument: "regex", phrase: "response content type", help: "response Content-Type" }),
  op({ code: "m", argument: "regex", phrase: "method", help: "request method" }),
  op({ code: "d", argument: "regex", phrase: "domain", help: "request host or Host header" }),
  op({ code: "u", argument: "regex", phrase: "url", help: "URL (pretty form); DNS: the question name" }),
  op({ code: "src", argument: "regex", phrase: "source address", help: "client address, `ip:port`" }),
  op({ code: "dst", argument: "regex", phrase: "destination address", help: "server address, `host:port`" }),
  op({ code: "meta", argument: "regex", phrase: "flow metadata", flags: "m", help: "metadata as `key: value` lines" }),
  op({ code: "marker", argument: "regex", phrase: "marker", help: "the marker (emoji or `:name:`)" }),
  op({ code: "comment", argument: "regex", phrase: "comment", flags: "m", help: "flow comment" }),
  op({ code: "c", argument: "int", phrase: "response code", help: "response status code (exact)" }),
]);

/** The URL operator, which a bare or quoted word stands for. */
export const URL_OPERATOR: OperatorSpec = OPERATORS.get("u")!;
