/**
 * reflow as a library, and what `import ... from "reflow"` gives user scripts: the flow
 * model, the script API, and the reader and writer.
 */
export * from "./model/index.js";
export { concurrent, ScriptContext, type LogLevel, type ScriptEvent, SCRIPT_EVENTS } from "./pipeline/script.js";
export type { TCPMessageEvent } from "./pipeline/tcp-message-event.js";
export { readFlows, readFlowRecords } from "./io/flow-source.js";
export { FlowWriter, type FlowWriterOptions } from "./io/flow-writer.js";
export { FlowRecord, type FlowState } from "./format/flow-record.js";
export { MigrationContext, WRITABLE_VERSIONS, NEWEST_VERSION, type WritableVersion } from "./format/migrations/index.js";
export { parseFilter, FilterSyntaxError, type Filter, type ParseOptions } from "./filter/index.js";
export { flowToJson, flowToJsonLine, type FlowJson } from "./format/jsonl.js";
export * from "./errors.js";
