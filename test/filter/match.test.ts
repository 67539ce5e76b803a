/**
 * Matching where reflow follows the newest mitmproxy rather than 8.1.1 (case-insensitive
 * regexes, UDP, DNS records as text, empty bodies searched), and laziness: a filter that
 * needs no bodies never decodes one.
 */
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { parseFilter } from "../../src/filter/index.js";
import { readFlows } from "../../src/io/flow-source.js";
import { type Flow, Message } from "../../src/model/index.js";

const testdata = fileURLToPath(new URL("../../../shared/testdata/", import.meta.url));

async function load(rel: string): Promise<Flow[]> {
  const flows: Flow[] = [];
  for await (const f of readFlows(testdata + rel)) flows.push(f);
  return flows;
}

/** Indexes of the flows matched. */
const matched = (flows: Flow[], expr: string, caseSensitive = false): number[] => {
  const filter = parseFilter(expr, { caseSensitive });
  return flows.flatMap((f, i) => (filter.match(f) ? [i] : []));
};

// tflow-v21: 0 http+response (marked, comment, metadata k=v), 1 http error, 2 websocket,
// 3 tcp, 4 udp, 5 dns (dns.google → 8.8.8.8, 8.8.4.4), 6 http ("/modified")
let tflows: Flow[];
// real-v17: 15 flows from mitmdump 8.1.1: gzip/deflate/br/zstd bodies, a POST form, a 404, an error, a TCP and a WebSocket flow
let real: Flow[];
beforeAll(async () => {
  tflows = await load("captures/tflow-v21.mitm");
  real = await load("captures/real-v17.mitm");
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("case", () => {
  it("ignores case by default, as the newest mitmproxy", () => {
    expect(matched(tflows, "~u /PATH")).toEqual([0, 1]);
    expect(matched(tflows, "~h HEADER-RESPONSE")).toEqual([0, 6]);
    expect(matched(tflows, "~comment A\\sCOMMENT")).toEqual([0]);
  });

  it("respects case when asked, for every regex operator", () => {
    expect(matched(tflows, "~u /PATH", true)).toEqual([]);
    expect(matched(tflows, "~m get", true)).toEqual([]);
    expect(matched(tflows, "~m GET", true)).toEqual([0, 1, 2, 6]);
    expect(matched(tflows, "~d ADDRESS", true)).toEqual([]);
  });
});

describe("flow types", () => {
  it("matches UDP flows with ~udp and their datagrams with ~b", () => {
    expect(matched(tflows, "~udp")).toEqual([4]);
    expect(matched(tflows, '~b "it\'s me"')).toEqual([2, 3, 4]); // 2: a WebSocket message
    expect(matched(tflows, '~bs "it\'s me" & ~udp')).toEqual([4]);
  });

  it("matches DNS questions with ~u and records as text with ~b", () => {
    expect(matched(tflows, "~u dns.google")).toEqual([5]);
    // the response as newest mitmproxy's str(): question names, then record data, CRLF between
    expect(matched(tflows, '~bs "^dns\\\\.google\\r\\n8\\\\.8\\\\.8\\\\.8\\r\\n8\\\\.8\\\\.4\\\\.4$"')).toEqual([5]);
    expect(matched(tflows, "~bq 8\\.8")).toEqual([]);
    expect(matched(tflows, "~q & ~dns")).toEqual([]);
  });

  it("makes HTTP-only operators false elsewhere, so their negation matches", () => {
    expect(matched(tflows, "!~s")).toEqual([1, 3, 4]);
    expect(matched(tflows, "!~http")).toEqual([3, 4, 5]);
    expect(matched(tflows, "~src 127.0.0.1:22 & ~dst ^address:22$")).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});

describe("bodies", () => {
  it("searches bodies decoded from every content encoding", () => {
    const body = matched(real, "~bs hello");
    for (const path of ["/gzip", "/deflate", "/br", "/zstd"]) {
      const i = real.findIndex(
        (f) => f.type === "http" && (f as import("../../src/model/index.js").HTTPFlow).request.path === path,
      );
      expect(body, path).toContain(i);
    }
  });

  it("searches an empty body, as the newest mitmproxy (8.1.1 skips it)", () => {
    expect(matched(tflows, "~bq ^$ & ~http")).toEqual([2]);
  });

  it("decodes no body for a filter that needs none", () => {
    const getContent = vi.spyOn(Message.prototype, "getContent");
    const rawContent = vi.spyOn(Message.prototype, "rawContent", "get");
    const filter = parseFilter("~u /json | ~h nginx | ~t json | ~c 404 | ~m POST | ~d localhost | ~meta x | ~e");
    expect(filter.needsBodies).toBe(false);
    expect(real.filter((f) => filter.match(f)).length).toBeGreaterThan(0);
    expect(getContent).not.toHaveBeenCalled();
    expect(rawContent).not.toHaveBeenCalled();
  });

  it("tries the cheaper operands of & and | first, with the same result", () => {
    const headers = vi.spyOn(Message.prototype, "headers", "get");
    const getContent = vi.spyOn(Message.prototype, "getContent");
    // the method and the status decide every flow here: no header block, no body is read
    expect(matched(real, "~h . & ~b . & ~m PUT")).toEqual([]);
    expect(matched(real, "~b . | ~h . | ~all")).toEqual(real.map((_, i) => i));
    expect(headers).not.toHaveBeenCalled();
    expect(getContent).not.toHaveBeenCalled();
    headers.mockRestore();
    getContent.mockRestore();
    // and each order gives mitmproxy's left-to-right answer
    for (const [x, y] of [
      ["~d 127.0.0.1", "~m POST"],
      ["~b gzip", "~c 200"],
      ["~h content-type", "!~websocket"],
    ]) {
      expect(matched(real, `${x} & ${y}`)).toEqual(matched(real, `${y} & ${x}`));
      expect(matched(real, `${x} | ${y}`)).toEqual(matched(real, `${y} | ${x}`));
    }
  });
});
