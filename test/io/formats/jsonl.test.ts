/** JSON Lines: the byte encoder writes what flowToJsonLine writes; reading a line back gives the same line. */
import { describe, expect, it } from "vitest";
import { FlowReadError } from "../../../src/errors.js";
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
