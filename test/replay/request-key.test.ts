/** The server-replay key and its options, on requests made with the model. */
import { describe, expect, it } from "vitest";
import { Request } from "../../src/model/index.js";
import { parseJsonPath } from "../../src/model/json-path.js";
import { type NearestCandidates, keyDifferences, nearestRequest } from "../../src/replay/nearest-request.js";
import type { RecordedAnswer } from "../../src/replay/recorded-answers.js";
import { type RequestKey, requestKey } from "../../src/replay/request-key.js";
import { type MatchSettings, defaultReplaySettings } from "../../src/replay/replay-settings.js";

const key = (r: Request, over: Partial<MatchSettings> = {}): RequestKey => requestKey(r, defaultReplaySettings(over));
const get = (url: string, headers: [string, string][] = []): Request => Request.make("GET", url, "", headers);
const post = (url: string, body: string, contentType: string): Request => Request.make("POST", url, body, [["content-type", contentType]]);

function multipart(fields: [string, string][]): [string, string] {
  const b = "XyZ";
  const body = fields.map(([k, v]) => `--${b}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`).join("") + `--${b}--\r\n`;
  return [body, `multipart/form-data; boundary=${b}`];
}

describe("server-replay key", () => {
  it("tells apart every part mitmproxy's key has", () => {
    const base = key(get("http://example.com/a?x=1&y=2"));
    const others = [
      Request.make("POST", "http://example.com/a?x=1&y=2"),
      get("https://example.com/a?x=1&y=2"),
      get("http://example.org/a?x=1&y=2"),
      get("http://example.com:8080/a?x=1&y=2"),
      get("http://example.com/b?x=1&y=2"),
      get("http://example.com/a?x=1&y=3"),
      get("http://example.com/a?y=2&x=1"), // order counts, as in mitmproxy
      Request.make("GET", "http://example.com/a?x=1&y=2", "body"),
    ];
    for (const o of others) expect(key(o).text, o.url).not.toBe(base.text);
    expect(key(get("http://example.com/a?x=1&y=2")).text).toBe(base.text);
  });

  it("uses the Host header's host, as pretty_host", () => {
    const viaHeader = get("http://10.0.0.1/a");
    viaHeader.headers.set("Host", "API.example.com:8443");
    expect(key(viaHeader).host).toBe("api.example.com");
  });

  it("--ignore-params, --ignore-host, --ignore-port, --ignore-content", () => {
    expect(key(get("http://h/a?page=1&ts=1"), { ignoreParams: new Set(["ts"]) }).text).toBe(
      key(get("http://h/a?page=1&ts=2"), { ignoreParams: new Set(["ts"]) }).text,
    );
    expect(key(get("http://a.test/x"), { ignoreHost: true }).text).toBe(key(get("http://b.test/x"), { ignoreHost: true }).text);
    expect(key(get("http://h:1/x"), { ignorePort: true }).text).toBe(key(get("http://h:2/x"), { ignorePort: true }).text);
    const [p1, p2] = [Request.make("POST", "http://h/x", "one"), Request.make("POST", "http://h/x", "two")];
    expect(key(p1).text).not.toBe(key(p2).text);
    expect(key(p1, { ignoreContent: true }).text).toBe(key(p2, { ignoreContent: true }).text);
  });

  it("--ignore-payload-params on url-encoded and multipart forms", () => {
    const ignore = { ignorePayloadParams: new Set(["token"]) };
    const form = (t: string): Request => post("http://h/f", `a=1&token=${t}`, "application/x-www-form-urlencoded");
    expect(key(form("1")).text).not.toBe(key(form("2")).text);
    expect(key(form("1"), ignore).text).toBe(key(form("2"), ignore).text);
    expect(key(form("1"), ignore).text).not.toBe(key(post("http://h/f", "a=2&token=1", "application/x-www-form-urlencoded"), ignore).text);
    const mp = (t: string): Request => post("http://h/f", ...multipart([["a", "1"], ["token", t]]));
    expect(key(mp("1")).text).not.toBe(key(mp("2")).text);
    expect(key(mp("1"), ignore).text).toBe(key(mp("2"), ignore).text);
  });

  it("--use-headers makes a header part of the key", () => {
    const a = get("http://h/x", [["X-Tenant", "a"]]);
    const b = get("http://h/x", [["X-Tenant", "b"]]);
    expect(key(a).text).toBe(key(b).text);
    expect(key(a, { useHeaders: ["x-tenant"] }).text).not.toBe(key(b, { useHeaders: ["x-tenant"] }).text);
  });

  it("--ignore-json-path leaves JSON members out of the body", () => {
    const paths = { ignoreJsonPaths: [parseJsonPath("$.nonce"), parseJsonPath("$.items[*].ts")] };
    const body = (nonce: string, ts: number, q = 1): Request =>
      post("http://h/j", JSON.stringify({ q, nonce, items: [{ id: 1, ts }] }), "application/json");
    expect(key(body("a", 1)).text).not.toBe(key(body("b", 2)).text);
    expect(key(body("a", 1), paths).text).toBe(key(body("b", 2), paths).text);
    expect(key(body("a", 1), paths).text).not.toBe(key(body("a", 1, 2), paths).text);
    const reordered = post("http://h/j", ' { "items": [{ "ts": 9, "id": 1 }], "nonce": "c", "q": 1 }', "application/json");
    expect(key(reordered, paths).text, "key order and spacing do not count, as in diff").toBe(key(body("a", 1), paths).text);
  });

  it("names the parts that differ", () => {
    const d = keyDifferences(key(get("http://h/api/items?page=2")), key(get("http://h/api/items?page=1"))).map((x) => x.text);
    expect(d).toEqual(["query page 2 ≠ 1"]);
    const d2 = keyDifferences(key(Request.make("POST", "http://h/b")), key(get("http://h/a?x=1"))).map((x) => x.text);
    expect(d2).toEqual(["method POST ≠ GET", "path /b ≠ /a", "query x missing (recorded 1)"]);
  });
});

describe("nearest recorded request", () => {
  /** Candidates as the recording offers them: the first answer of each distinct key. */
  function candidates(urls: string[]): NearestCandidates {
    const answers = urls.map((u, i) => ({ key: key(Request.make(u.split(" ")[0]!, u.split(" ")[1]!)), label: u, flowIndex: i }) as unknown as RecordedAnswer);
    return { distinct: () => answers, withPath: (p) => answers.filter((a) => a.key.path === p) };
  }
  const nearest = (asked: string, urls: string[]): string | undefined => {
    const [method, url] = asked.split(" ");
    return nearestRequest(key(Request.make(method!, url!)), candidates(urls))?.answer.label;
  };

  it("prefers the same path, then the fewest other differences, then the earliest", () => {
    const recorded = ["GET http://h/a?x=1&y=1", "GET http://h/b?x=2", "POST http://h/a?x=2", "GET http://h/a?x=2&y=1"];
    expect(nearest("GET http://h/a?x=2&y=1", recorded)).toBe("GET http://h/a?x=2&y=1");
    expect(nearest("GET http://h/a?x=3&y=1", recorded)).toBe("GET http://h/a?x=1&y=1");
    expect(nearest("GET http://h/b?x=3", recorded)).toBe("GET http://h/b?x=2");
    expect(nearest("GET http://h/c?x=2", recorded)).toBe("GET http://h/b?x=2");
    expect(nearest("POST http://h/a", recorded)).toBe("POST http://h/a?x=2");
    expect(nearest("GET http://h/a", [])).toBeUndefined();
  });
});
