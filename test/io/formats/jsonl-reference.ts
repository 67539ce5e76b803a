/**
 * Lines of JsonLineEncoder side by side with flowToJsonLine's (the reference) for the same
 * bytes, each flow read from a record of its own; and ways to make the flows to compare.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { FlowRecord } from "../../../src/format/flow-record.js";
import { MigrationContext } from "../../../src/format/migrations/index.js";
import { frameFlows } from "../../../src/format/mitm-stream.js";
import { MitmEncoder } from "../../../src/format/mitm-writer.js";
import { type TDict, decode, encode } from "../../../src/format/tnetstring.js";
import { FlowReadError } from "../../../src/errors.js";
import { flowOf, flowReadError, readFlows } from "../../../src/io/flow-source.js";
import { JsonLineEncoder } from "../../../src/io/formats/jsonl-line-encoder.js";
import { flowToJsonLine } from "../../../src/io/formats/jsonl-writer.js";
import type { Flow } from "../../../src/model/index.js";
import { testdata } from "../../helpers.js";

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

/**
 * Each flow's line, or the error reading it (code, offset and what it says: the two ways
 * must meet the same damage first); every flow from a record of its own.
 */
async function linesOf(bytes: Buffer, line: (flow: Flow) => string, migrations: MigrationContext): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const raw of frameFlows(once(bytes), "t.mitm", bytes.length)) {
      let flow: Flow | undefined;
      try {
        flow = flowOf(new FlowRecord(raw, "t.mitm", migrations));
        out.push(line(flow));
      } catch (e) {
        const named = flow ? flowReadError(flow, e) : e;
        if (!(named instanceof FlowReadError)) throw named;
        out.push(`error ${named.code} at ${named.offset}: ${named.detail}`);
      }
    }
  } catch (e) {
    if (!(e instanceof FlowReadError)) throw e;
    out.push(`framing error ${e.code} at ${e.offset}: ${e.detail}`);
  }
  return out;
}

/** What the encoder writes and what flowToJsonLine writes for the flows of `bytes` (one migration context: the same ids). */
export async function bothWays(bytes: Buffer): Promise<{ encoded: string[]; reference: string[] }> {
  const migrations = new MigrationContext();
  const encoder = new JsonLineEncoder();
  const reference = await linesOf(bytes, flowToJsonLine, migrations);
  const encoded = await linesOf(bytes, (f) => encoder.encode(f).toString("utf8"), migrations);
  return { encoded, reference };
}

/** The flows of `file` (up to the first damaged one) written at `version`; 19 is 20 with its number changed (19 → 20 only drops `state`). */
export async function writtenAt(file: string, version: 17 | 18 | 19 | 20 | 21): Promise<Buffer> {
  const encoder = new MitmEncoder(version === 19 ? 20 : version);
  const parts: Buffer[] = [];
  try {
    for await (const flow of readFlows(file)) {
      const bytes = Buffer.from(encoder.encode(flow.state));
      parts.push(version === 19 ? withVersion(bytes, 19) : bytes);
    }
  } catch {
    // a damaged file: the flows before the damage are enough
  }
  return Buffer.concat(parts);
}

export function withVersion(flowBytes: Buffer, version: number): Buffer {
  const dict = decode(flowBytes) as TDict;
  dict.set("version", version);
  return encode(dict);
}

/** The bytes of the first flow of testdata file `file`. */
export function firstFlow(file: string): Buffer {
  const bytes = readFileSync(join(testdata, file));
  const colon = bytes.indexOf(0x3a);
  return bytes.subarray(0, colon + 1 + Number(bytes.toString("latin1", 0, colon)) + 1);
}

export type Edit = (flow: TDict, client: TDict, server: TDict) => void;

/** The first flow of `file` decoded whole, changed by `edit`, encoded again. */
export function edited(file: string, edit: Edit): Buffer {
  const flow = decode(firstFlow(file)) as TDict;
  edit(flow, flow.get("client_conn") as TDict, flow.get("server_conn") as TDict);
  return encode(flow);
}

