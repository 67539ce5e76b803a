import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { readFlows } from "../../src/io/flow-source.js";
import type { Flow, HTTPFlow } from "../../src/model/index.js";
import { type RuleArgument, RuleSet, RuleSyntaxError } from "../../src/rules/index.js";
import { fileCandidates } from "../../src/rules/map-local.js";
import { compileTemplate } from "../../src/rules/map-remote.js";
import { escapedBytes } from "../../src/rules/escaped-bytes.js";
import { jsonValueSpans, parseJsonPath } from "../../src/rules/json-spans.js";
import { fixtures } from "../helpers.js";

const sample = join(fixtures, "sample.mitm");

/** The sample capture's flows, fresh each time (rules change them). */
async function sampleFlows(): Promise<HTTPFlow[]> {
  const out: Flow[] = [];
  for await (const f of readFlows(sample)) out.push(f);
  return out as HTTPFlow[];
}

/** The flows of sample.mitm after the rules' events, as a saved run fires them. */
async function applied(rules: RuleArgument[]): Promise<HTTPFlow[]> {
  const set = new RuleSet(rules);
  const flows = await sampleFlows();
  for (const f of flows) {
    set.atRequest(f);
    if (f.response) {
      set.atResponseHeaders(f);
      set.atResponse(f);
    }
  }
  return flows;
}

const rule = (option: RuleArgument["option"], text: string): RuleArgument => ({ option, text });

/** The column a malformed rule's error points at. */
function errorColumn(args: RuleArgument[]): number {
  try {
    new RuleSet(args);
  } catch (e) {
    expect(e).toBeInstanceOf(RuleSyntaxError);
    expect((e as RuleSyntaxError).code).toBe("E_RULE_SYNTAX");
    expect((e as RuleSyntaxError).exitCode).toBe(2);
    return (e as RuleSyntaxError).offset;
  }
  throw new Error(`no error for ${JSON.stringify(args)}`);
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "reflow-rules-"));
});

describe("rule syntax (mitmproxy's [SEP FILTER] SEP SUBJECT SEP REPLACEMENT)", () => {
  it("takes any separator; the replacement may hold the separator", async () => {
    const flows = await applied([rule("modify-headers", "|~q|X-A|1/2|3"), rule("modify-headers", ":~m POST:X-B:yes"), rule("modify-headers", "/X-C/c")]);
    for (const f of flows) {
      // two parts: no filter, so both sides, as mitmproxy does live
      expect(f.request.headers.get("x-c")).toBe("c");
      if (f.response) expect(f.response.headers.get("x-c")).toBe("c");
      expect(f.request.headers.get("x-a"), f.request.url).toBe("1/2|3");
      expect(f.request.headers.get("x-b") === "yes", f.request.url).toBe(f.request.method === "POST");
    }
  });

  it("points at the column of what is wrong: parts, filter, regex, escape, file", () => {
    expect(errorColumn([rule("modify-headers", "/only-one")])).toBe("/only-one".length);
    expect(errorColumn([rule("modify-headers", "")])).toBe(0);
    // the filter's own column, counted from the rule's start
    expect(errorColumn([rule("modify-headers", "/~c abc/X/1")])).toBeGreaterThanOrEqual(1);
    expect(errorColumn([rule("modify-body", "/~s/a[b/x")])).toBe(4);
    expect(errorColumn([rule("modify-headers", "/X/ab\\x4")])).toBe(5);
    expect(errorColumn([rule("modify-headers", "|X|@/nonexistent/file")])).toBe(4);
    expect(errorColumn([rule("map-local", "|x|/nonexistent/dir")])).toBe(3);
    expect(errorColumn([rule("map-remote", "|x|y\\q")])).toBe(4);
    expect(errorColumn([rule("map-remote", "|x|\\2")])).toBe(3);
    expect(errorColumn([rule("redact", "$.a..b")])).toBe(0);
  });

  it("decodes escapes as Python's escape_decode, keeping unknown ones for regexes", () => {
    expect(escapedBytes("a\\nb\\x41\\101\\d")).toEqual(Buffer.from("a\nbAA\\d"));
    expect(escapedBytes("é")).toEqual(Buffer.from("é", "utf8"));
  });
});

describe("--modify-headers", () => {
  it("acts on request headers at the request and response headers at the response, filters seeing each moment", async () => {
    const flows = await applied([rule("modify-headers", "/~q/X-Phase/request"), rule("modify-headers", "/~s/X-Phase/response")]);
    for (const f of flows) {
      // ~q (no response yet) matches every request, even of a saved flow that has a response
      expect(f.request.headers.getAll("x-phase"), f.request.url).toEqual(["request"]);
      if (f.response) expect(f.response.headers.getAll("x-phase"), f.request.url).toEqual(["response"]);
    }
  });

  it("removes every field of the name, then adds each value; an empty value removes; @FILE reads a file", async () => {
    const file = join(dir, "value.txt");
    writeFileSync(file, "from-file");
    const flows = await applied([
      rule("modify-headers", "/User-Agent/one"),
      rule("modify-headers", "/user-agent/two"),
      rule("modify-headers", "/Server/"),
      rule("modify-headers", `|X-File|@${file}`),
    ]);
    for (const f of flows) {
      expect(f.request.headers.getAll("user-agent")).toEqual(["one", "two"]);
      expect(f.request.headers.get("x-file")).toBe("from-file");
      if (f.response) expect(f.response.headers.has("server")).toBe(false);
    }
  });

  it("tests every filter before any change, so a rule may change the header its own or a later filter reads", async () => {
    const flows = await applied([
      rule("modify-headers", "|~hq \"User-Agent: curl\"|User-Agent|not curl"),
      rule("modify-headers", "|~hq \"User-Agent: curl\"|X-Was-Curl|yes"),
    ]);
    for (const f of flows) {
      expect(f.request.headers.get("user-agent")).toBe("not curl");
      expect(f.request.headers.get("x-was-curl")).toBe("yes");
    }
  });

  it("leaves a flow whose filter does not match byte for byte as it was", async () => {
    const before = await sampleFlows();
    const after = await applied([rule("modify-headers", "/~u nothing-matches-this/X/1")]);
    after.forEach((f, i) => expect(f.request.headers.fields).toEqual(before[i]!.request.headers.fields));
  });
});

describe("--modify-body", () => {
  it("replaces in the decoded body, literally, and encodes it again", async () => {
    const flows = await applied([rule("modify-body", "/~u gzip & ~s/\\w+/[$0]")]);
    const gz = flows.find((f) => f.request.path === "/gzip")!;
    expect(gz.response!.headers.get("content-encoding")).toBe("gzip");
    const text = gz.response!.content!.toString();
    expect(text.replace(/\[\$0\]|\W/g, ""), "every word became the literal replacement").toBe("");
    expect(gz.response!.rawContent!.equals(gz.response!.content!)).toBe(false); // still compressed
    expect(Number(gz.response!.headers.get("content-length"))).toBe(gz.response!.rawContent!.length);
  });

  it("rewrites the request body at the request, the response body once there is one", async () => {
    const flows = await applied([rule("modify-body", "/~m POST/\\}$/,\"added\":true}")]);
    const post = flows.find((f) => f.request.path === "/api/items")!;
    expect(JSON.parse(post.request.content!.toString()).added).toBe(true);
    expect(post.response!.content!.toString()).toMatch(/"added":true}$/);
  });
});

describe("--map-remote", () => {
  it("rewrites the URL with Python's group references, and the Host header with it", async () => {
    const flows = await applied([rule("map-remote", "|~u /api/|http://127\\.0\\.0\\.1:(\\d+)/api/|https://api.example.org:\\1/v2/")]);
    const api = flows.find((f) => f.request.path.startsWith("/v2/items"))!;
    expect(api.request.url).toBe("https://api.example.org:28601/v2/items?page=2&token=xyz");
    expect(api.request.headers.get("host")).toBe("api.example.org:28601");
    expect(flows.find((f) => f.request.path === "/gzip")!.request.host).toBe("127.0.0.1");
  });

  it("expands templates as re.sub does", () => {
    const fail = (_at: number, why: string): never => {
      throw new Error(why);
    };
    const expand = compileTemplate("<\\g<1>|\\2|\\g<name>|\\n|\\0|\\/>", 2, fail);
    const m = Object.assign(["ab", "a", undefined], { groups: { name: "N" } }) as unknown as RegExpExecArray;
    expect(expand(m)).toBe("<a||N|\n|\0|\\/>");
  });
});

describe("--map-local", () => {
  it("answers from a file in a directory, index.html for the directory itself, 404 when none exists", async () => {
    const root = join(dir, "site");
    mkdirSync(join(root, "api"), { recursive: true });
    writeFileSync(join(root, "index.html"), "<h1>home</h1>");
    writeFileSync(join(root, "api", "items"), '{"local":true}');
    const flows = await applied([rule("map-local", `|127\\.0\\.0\\.1:\\d+/|${root}`)]);
    const home = flows.find((f) => f.request.path === "/")!;
    expect(home.response!.statusCode).toBe(200);
    expect(home.response!.content!.toString()).toBe("<h1>home</h1>");
    expect(home.response!.headers.get("content-type")).toBe("text/html");
    const items = flows.find((f) => f.request.path === "/api/items?page=2&token=xyz")!;
    expect(items.response!.content!.toString()).toBe('{"local":true}');
    expect(flows.find((f) => f.request.path === "/gzip")!.response!.statusCode).toBe(404);
    // the refused request is answered too: its recorded error is gone
    const refused = flows.find((f) => f.request.path === "/refused")!;
    expect(refused.error).toBeNull();
  });

  it("picks candidate files as mitmproxy's file_candidates does (its test table)", () => {
    const table: [string, string, string[]][] = [
      ["https://example.com/foo/", "example.com/foo", ["/tmp/index.html"]],
      ["https://example.com/foo/bar.jpg?query", "example.com/foo", ["/tmp/bar.jpg", "/tmp/bar.jpg/index.html"]],
      ["https://example.com/foo/bar/baz.jpg", "example.com/foo", ["/tmp/bar/baz.jpg", "/tmp/bar/baz.jpg/index.html"]],
      ["https://example.com/foo/bar.jpg", "/foo/bar.jpg", ["/tmp/index.html"]],
      ["http://example.com/foo%20bar.jpg", "example.com", ["/tmp/foo bar.jpg", "/tmp/foo bar.jpg/index.html", "/tmp/foo_bar.jpg", "/tmp/foo_bar.jpg/index.html"]],
      ["http://example.com/fóobår.jpg", "example.com", ["/tmp/fóobår.jpg", "/tmp/fóobår.jpg/index.html", "/tmp/f_ob_r.jpg", "/tmp/f_ob_r.jpg/index.html"]],
      ["https://example/view.php?f=foo.jpg", "example/view.php\\?f=(.+)", ["/tmp/foo.jpg", "/tmp/foo.jpg/index.html"]],
      ["https://example/results?id=1&foo=2", "example/(results\\?id=.+)", ["/tmp/results?id=1&foo=2", "/tmp/results?id=1&foo=2/index.html", "/tmp/results_id=1_foo=2", "/tmp/results_id=1_foo=2/index.html"]],
      ["https://example.com/../../../../etc/passwd", "example.com", []],
      ["https://example.com//etc/passwd", "example.com", ["/tmp/etc/passwd", "/tmp/etc/passwd/index.html"]],
    ];
    for (const [url, regex, expected] of table)
      expect(fileCandidates(url, { filter: null, pattern: new RegExp(regex), localPath: "/tmp" }), `${url} ${regex}`).toEqual(expected);
  });

  it("never leaves the directory", async () => {
    const root = join(dir, "jail");
    mkdirSync(root, { recursive: true });
    writeFileSync(join(dir, "secret"), "secret");
    const set = new RuleSet([rule("map-local", `|/x/(.*)|${root}`)]);
    const flows = await sampleFlows();
    const f = flows[0]!;
    f.request.url = "http://h/x/..%2fsecret";
    const before = f.response!.content!.toString();
    set.atRequest(f);
    expect(f.response!.content!.toString()).toBe(before);
  });
});

describe("--redact", () => {
  it("replaces headers, query parameters, cookies and JSON paths with REDACTED, keeping the rest", async () => {
    const flows = await applied([
      rule("redact", "authorization"),
      rule("redact", "token"),
      rule("redact", "session"),
      rule("redact", "$.name"),
      rule("redact", "password"),
    ]);
    const login = flows.find((f) => f.request.path === "/login")!;
    expect(login.request.content!.toString(), "a form field").toBe("user=alice&password=REDACTED");
    expect(login.request.cookies.get("session"), "a request cookie").toBe("REDACTED");
    expect(login.request.cookies.get("theme")).toBe("dark");
    const api = flows.find((f) => f.request.path.startsWith("/api/items?"))!;
    expect(api.request.headers.get("authorization")).toBe("REDACTED");
    expect(api.request.query.get("token")).toBe("REDACTED");
    expect(api.request.query.get("page")).toBe("2");
    const setCookie = api.response!.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/^session=REDACTED;/);
    expect(setCookie).toContain("HttpOnly");
    const post = flows.find((f) => f.request.method === "POST" && f.request.path === "/api/items")!;
    const body = JSON.parse(post.request.content!.toString());
    expect(body.name).toBe("REDACTED");
  });

  it("finds JSON values by path in the text, untouched elsewhere", () => {
    const text = '{"a": {"b": 1.50, "c": [ {"t": "x"}, {"t": 2} ]}, "b": 3}';
    const spans = jsonValueSpans(text, parseJsonPath("$.a.c[*].t")!);
    expect(spans.map(([s, e]) => text.slice(s, e))).toEqual(['"x"', "2"]);
    expect(jsonValueSpans(text, parseJsonPath("$.a.b")!).map(([s, e]) => text.slice(s, e))).toEqual(["1.50"]);
    expect(jsonValueSpans("not json", parseJsonPath("$.a")!)).toEqual([]);
  });
});

describe("rules in order", () => {
  it("run in command-line order across options: a later rule sees an earlier one's work", async () => {
    const flows = await applied([rule("map-remote", "|/gzip|/zipped"), rule("modify-headers", "/~u zipped/X-Seen/1")]);
    expect(flows.find((f) => f.request.path === "/zipped")!.request.headers.get("x-seen")).toBe("1");
    const reversed = await applied([rule("modify-headers", "/~u zipped/X-Seen/1"), rule("map-remote", "|/gzip|/zipped")]);
    expect(reversed.find((f) => f.request.path === "/zipped")!.request.headers.has("x-seen")).toBe(false);
  });
});
