/** JSON Lines as a sink: one object per flow (docs/jsonl.md). */
import { JsonLineEncoder } from "../io/formats/jsonl-line-encoder.js";
import type { TextOutput } from "../io/text-output.js";
import type { PassingFlow } from "./passing-flow.js";
import type { FlowSink } from "./stage.js";

/** Writes each flow that reaches it as one JSON line. */
export class JsonLinesSink implements FlowSink {
  readonly reads = "model";
  /** lines written */
  written = 0;
  /** bodies escaped from their bytes, not stringified and encoded again */
  private readonly lines = new JsonLineEncoder();

  constructor(private readonly out: TextOutput) {}

  write(flow: PassingFlow): Promise<void> | void {
    const line = this.lines.encode(flow.flow);
    this.written++;
    return this.out.addBytes(line);
  }

  endBatch(): Promise<void> {
    return this.out.flush();
  }

  close(): Promise<void> {
    return this.out.close();
  }
}
