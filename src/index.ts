/**
 * reflow as a library, and what `import ... from "reflow"` gives user scripts: the flow
 * model, the script API, and the readers and writers of every format (`readFlows` tells
 * the format from the first bytes; `FlowWriter` writes the one asked for or named by the path).
 */
export * from "./model/index.js";
export { concurrent, ScriptContext, type LogLevel, type ScriptEvent, SCRIPT_EVENTS } from "./pipeline/script.js";
export type { TCPMessageEvent } from "./pipeline/tcp-message-event.js";
export { readFlows, readFlowRecords } from "./io/flow-source.js";
export { FlowWriter, type FlowWriterOptions } from "./io/flow-writer.js";
export { FlowRecord, type FlowState } from "./format/flow-record.js";
export { MigrationContext, WRITABLE_VERSIONS, NEWEST_VERSION, type WritableVersion } from "./format/migrations/index.js";
export { parseFilter, FilterSyntaxError, type Filter, type ParseOptions } from "./filter/index.js";
export { flowToJson, flowToJsonLine, type FlowJson } from "./io/formats/jsonl-writer.js";
export { jsonToFlowState } from "./io/formats/jsonl-reader.js";
export { harEntryToFlowState } from "./io/formats/har-reader.js";
export { HarEntryMaker } from "./io/formats/har-writer.js";
export { type FlowFileEncoder, flowFileEncoder } from "./io/flow-formats.js";
export { FLOW_FORMATS, FORMAT_NAMES, type FlowFormat, detectFormat, outputFormat } from "./format/flow-formats.js";
export { decodeMsgpackState, encodeMsgpackRecord } from "./format/msgpack-codec.js";
export { LoadedFlow, type ReadFlow } from "./format/loaded-flow.js";
export * from "./errors.js";
