/**
 * Turns a parsed filter into a predicate over flows. Each operator reads only what it
 * tests, through the model: `~u` never touches a body, `~src` never touches the request.
 * Operators about HTTP are false for other flow types, so `!~s` matches TCP flows (as in
 * mitmproxy).
 */
import type { DNSFlow, Flow, HTTPFlow, Message, TCPFlow, UDPFlow } from "../model/index.js";
import { dnsMessageText } from "../model/dns-text.js";
import { addressText, bytesAsText, contentTypeValues, headerBlockText, metadataText } from "./flow-text.js";
import { READ_DEPTHS } from "./operators.js";
import type { FilterTerm, OperatorTerm } from "./syntax-tree.js";

/** A compiled filter: true when the flow matches. */
export type FlowPredicate = (flow: Flow) => boolean;

const isHttp = (f: Flow): f is HTTPFlow => f.type === "http";
const isDns = (f: Flow): f is DNSFlow => f.type === "dns";
const hasMessages = (f: Flow): f is TCPFlow | UDPFlow => f.type === "tcp" || f.type === "udp";

/** Response Content-Types that make `~a` true (searched anywhere in the value, case-sensitively). */
const ASSET_TYPE =
  /text\/javascript|application\/x-javascript|application\/javascript|text\/css|image\/|font\/|application\/font/;

/** How deep a term reads at most: the index of its deepest operator's READ_DEPTHS entry. */
function depthOf(term: FilterTerm): number {
  switch (term.kind) {
    case "operator":
      return READ_DEPTHS.indexOf(term.operator.reads);
    case "not":
      return depthOf(term.term);
    default:
      return Math.max(...term.terms.map(depthOf));
  }
}

/**
 * The operands of an and/or, cheapest first. Operators only read, so the order cannot
 * change the result, only how much is parsed before it is known: in `~d x & ~m POST` the
 * method decides most flows before any header block is parsed.
 */
function cheapestFirst(terms: readonly FilterTerm[]): FilterTerm[] {
  return terms
    .map((term, i) => ({ term, i, depth: depthOf(term) }))
    .sort((x, y) => x.depth - y.depth || x.i - y.i)
    .map((x) => x.term);
}

/** Compiles the tree into one predicate. */
export function compileTerm(term: FilterTerm): FlowPredicate {
  switch (term.kind) {
    case "and": {
      const parts = cheapestFirst(term.terms).map(compileTerm);
      return (f) => parts.every((p) => p(f));
    }
    case "or": {
      const parts = cheapestFirst(term.terms).map(compileTerm);
      return (f) => parts.some((p) => p(f));
    }
    case "not": {
      const inner = compileTerm(term.term);
      return (f) => !inner(f);
    }
    case "operator":
      return compileOperator(term);
  }
}

/** Which side of an exchange a body operator reads. */
type Side = "both" | "request" | "response";

function compileOperator(term: OperatorTerm): FlowPredicate {
  const re = term.regex!;
  const test = (text: string): boolean => re.test(text);
  switch (term.operator.code) {
    case "all":
      return () => true;
    case "a":
      return (f) =>
        isHttp(f) && f.response !== null && contentTypeValues(f.response.headers).some((v) => ASSET_TYPE.test(v));
    case "e":
      return (f) => f.error !== null;
    case "http":
      return isHttp;
    case "websocket":
      return (f) => isHttp(f) && f.websocket !== null;
    case "tcp":
      return (f) => f.type === "tcp";
    case "udp":
      return (f) => f.type === "udp";
    case "dns":
      return isDns;
    case "q":
      return (f) => (isHttp(f) || isDns(f)) && f.response === null;
    case "s":
      return (f) => (isHttp(f) || isDns(f)) && f.response !== null;
    case "marked":
      return (f) => f.marked !== "";
    case "replay":
      return (f) => f.isReplay !== null;
    case "replayq":
      return (f) => f.isReplay === "request";
    case "replays":
      return (f) => f.isReplay === "response";
    case "b":
      return bodyMatcher(test, "both");
    case "bq":
      return bodyMatcher(test, "request");
    case "bs":
      return bodyMatcher(test, "response");
    case "h":
      return (f) =>
        isHttp(f) &&
        (test(headerBlockText(f.request.headers)) ||
          (f.response !== null && test(headerBlockText(f.response.headers))));
    case "hq":
      return (f) => isHttp(f) && test(headerBlockText(f.request.headers));
    case "hs":
      return (f) => isHttp(f) && f.response !== null && test(headerBlockText(f.response.headers));
    case "t":
      return (f) =>
        isHttp(f) &&
        (contentTypeValues(f.request.headers).some(test) ||
          (f.response !== null && contentTypeValues(f.response.headers).some(test)));
    case "tq":
      return (f) => isHttp(f) && contentTypeValues(f.request.headers).some(test);
    case "ts":
      return (f) => isHttp(f) && f.response !== null && contentTypeValues(f.response.headers).some(test);
    case "m":
      return (f) => isHttp(f) && test(storedMethod(f));
    case "d":
      return (f) => isHttp(f) && (test(f.request.host) || test(f.request.prettyHost));
    case "u":
      return (f) => {
        if (isHttp(f)) return test(f.request.prettyUrl);
        if (isDns(f)) {
          const first = f.request.questions[0];
          return first !== undefined && test(first.name);
        }
        return false;
      };
    case "src":
      return (f) => {
        const peer = f.clientPeername;
        return peer !== null && test(addressText(peer));
      };
    case "dst":
      return (f) => {
        const address = f.serverAddress;
        return address !== null && test(addressText(address));
      };
    case "meta":
      return (f) => test(metadataText(f.metadata));
    case "marker":
      return (f) => test(f.marked);
    case "comment":
      return (f) => test(f.comment);
    case "c": {
      const code = term.number!;
      return (f) => isHttp(f) && f.response !== null && f.response.statusCode === code;
    }
    default:
      throw new Error(`no matcher for ~${term.operator.code}`);
  }
}

/**
 * The method as sent: the model upper-cases `method`, mitmproxy matches the stored bytes
 * (which only matters for case-sensitive filters).
 */
function storedMethod(f: HTTPFlow): string {
  const raw = f.request.state.get("method");
  return Buffer.isBuffer(raw) ? bytesAsText(raw) : typeof raw === "string" ? raw : f.request.method;
}

/**
 * The decoded body, leniently (an undecodable body is searched as stored), or null when the
 * body was not recorded. An empty body is still searched, as in newest mitmproxy.
 */
function bodyText(message: Message): string | null {
  let content: Buffer | null;
  try {
    content = message.getContent(false);
  } catch {
    content = message.rawContent; // a decoder failing oddly must not fail the filter
  }
  return content === null ? null : bytesAsText(content);
}

function bodyMatcher(test: (text: string) => boolean, side: Side): FlowPredicate {
  const clientSide = side !== "response";
  const serverSide = side !== "request";
  const wanted = (fromClient: boolean): boolean => (fromClient ? clientSide : serverSide);
  return (f) => {
    if (isHttp(f)) {
      if (clientSide) {
        const text = bodyText(f.request);
        if (text !== null && test(text)) return true;
      }
      const response = serverSide ? f.response : null;
      if (response) {
        const text = bodyText(response);
        if (text !== null && test(text)) return true;
      }
      const ws = f.websocket;
      return ws !== null && ws.messages.some((m) => wanted(m.fromClient) && test(bytesAsText(m.content)));
    }
    if (hasMessages(f)) return f.messages.some((m) => wanted(m.fromClient) && test(bytesAsText(m.content)));
    if (isDns(f)) {
      if (clientSide && test(dnsMessageText(f.request))) return true;
      const response = serverSide ? f.response : null;
      return response !== null && test(dnsMessageText(response));
    }
    return false;
  };
}
