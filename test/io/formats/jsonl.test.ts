/** JSON Lines: the byte encoder writes what flowToJsonLine writes; reading a line back gives the same line. */
import { describe, expect, it } from "vitest";
import { FlowReadError, FlowStateError } from "../../../src/errors.js";
import { readFlows } from "../../../src/io/flow-source.js";
import { jsonToFlowState } from "../../../src/io/formats/jsonl-reader.js";
import { JsonLineEncoder } from "../../../src/io/formats/jsonl-line-encoder.js";
import { flowToJson, flowToJsonLine } from "../../../src/io/formats/jsonl-writer.js";
import { DetachedState, type Flow, HTTPFlow, Response, flowFromState } from "../../../src/model/index.js";
import { allMitmFiles } from "../../helpers.js";

async function flowsOf(file: string): Promise<Flow[]> {
  const flows: Flow[] = [];
  try {
    for await (const f of readFlows(file)) {
      flowToJson(f); // damage inside a flow ends the file here too
      flows.push(f);
    }
  } catch (e) {
    if (!(e instanceof FlowReadError)) throw e;
  }
  return flows;
}

describe("JSON Lines", () => {
  it.each(allMitmFiles().map((f) => [f.split("/testdata/")[1]!, f]))(
    "%s: bytes as flowToJsonLine; read back, the same line",
    async (_n, file) => {
      const encoder = new JsonLineEncoder();
      for (const flow of await flowsOf(file)) {
        const line = flowToJsonLine(flow);
        expect(encoder.encode(flow).toString("utf8")).toBe(line);
        const back = flowFromState(new DetachedState(jsonToFlowState(JSON.parse(line))));
        // a body encoded again (gzip, br…) may compress to other bytes: only its stored size may differ
        const sizeless = (text: string) => JSON.parse(text, (k, v) => (k === "stored_size" ? undefined : v));
        expect(sizeless(flowToJsonLine(back))).toEqual(sizeless(line));
      }
    },
  );

  it("escapes control characters, quotes and backslashes in bodies as JSON.stringify does", () => {
    const body = Buffer.from('a"b\\c\n\t\x01\x1f\x7f é 😀 ' + "x".repeat(100) + '"', "utf8");
    const text = JSON.stringify(body.toString("utf8"));
    const encoder = new JsonLineEncoder();
    const r = Response.make(200, body);
    const f = new HTTPFlow(
      new DetachedState(
        jsonToFlowState({
          id: "i",
          type: "http",
          timestamp_created: 0,
          client_conn: null,
          server_conn: null,
          request: {
            method: "GET",
            url: "",
            scheme: "http",
            host: "h",
            port: 80,
            path: "/",
            authority: "",
            http_version: "HTTP/1.1",
            headers: [],
            body: null,
            timestamp_start: 0,
          },
          response: null,
          error: null,
          marked: "",
          comment: "",
          is_replay: null,
          metadata: {},
        }),
      ),
    );
    f.response = r;
    const line = encoder.encode(f).toString("utf8");
    expect(line).toBe(flowToJsonLine(f));
    expect(line).toContain(text);
  });
});

describe("JSON Lines read back: a field edited into another type", () => {
  /** a line of each kind of flow in the test files, parsed */
  async function linesByKind(): Promise<Map<string, Record<string, unknown>>> {
    const kinds = new Map<string, Record<string, unknown>>();
    for (const file of allMitmFiles())
      for (const f of await flowsOf(file)) {
        const kind = f instanceof HTTPFlow && f.websocket ? "websocket" : f.type;
        const line = JSON.parse(flowToJsonLine(f)) as Record<string, unknown>;
        if (kind === "http" && !line.response) continue; // one with a response
        if (!kinds.has(kind)) kinds.set(kind, line);
      }
    return kinds;
  }

  /** `line` with the field at `path` set to `value` (deleted when undefined). */
  function edited(line: Record<string, unknown>, path: (string | number)[], value: unknown): Record<string, unknown> {
    const copy = structuredClone(line);
    let at: Record<string | number, unknown> = copy;
    for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
    if (value === undefined) delete at[path.at(-1)!];
    else at[path.at(-1)!] = value;
    return copy;
  }

  it("is refused as E_FLOW_SCHEMA naming the field, for every kind of flow", async () => {
    const kinds = await linesByKind();
    const cases: [string, (string | number)[], unknown, string][] = [
      ["http", ["request", "port"], "80", "request.port"],
      ["http", ["request", "headers"], { a: "b" }, "request.headers"],
      ["http", ["request", "headers"], [["a", 1]], "request.headers[0]"],
      ["http", ["request"], undefined, "request"],
      ["http", ["response", "status_code"], 200.5, "response.status_code"],
      ["http", ["response", "body"], 5, "response.body"],
      ["http", ["client_conn", "address"], 5, "client_conn.address"],
      ["http", ["error"], { msg: 3 }, "error.msg"],
      ["websocket", ["websocket", "messages", 0, "from_client"], "yes", "websocket.messages[0].from_client"],
      ["tcp", ["messages", 0, "content"], 5, "messages[0].content"],
      ["dns", ["dns_request", "questions", 0, "class"], "IN", "dns_request.questions[0].class"],
    ];
    for (const [kind, path, value, field] of cases) {
      const line = kinds.get(kind);
      expect(line, `a ${kind} flow in the test files`).toBeDefined();
      expect(() => jsonToFlowState(line), `${kind} as written`).not.toThrow();
      let refusal: unknown;
      try {
        jsonToFlowState(edited(line!, path, value));
      } catch (e) {
        refusal = e;
      }
      expect(refusal, `${field} = ${JSON.stringify(value)}`).toBeInstanceOf(FlowStateError);
      expect((refusal as FlowStateError).code).toBe("E_FLOW_SCHEMA");
      expect((refusal as FlowStateError).message.startsWith(`${field}: `), (refusal as Error).message).toBe(true);
    }
  });
});
