/**
 * `reflow diff` as a library: pair the flows of two files, compare each pair field by
 * field, and report what differs as text, counts or JSON.
 */
export * from "./changes.js";
export {
  type CompareOptions,
  DEFAULT_IGNORE,
  IGNORE_CATEGORIES,
  type IgnoreCategory,
  PAIRING_MODES,
  type PairingMode,
  defaultCompareOptions,
  parseIgnoreList,
} from "./diff-options.js";
export { FlowComparer } from "./flow-comparison.js";
export { type DiffReport, type FlowDiffOptions, diffFlowStreams } from "./flow-diff.js";
export { type FlowPair, pairFlows } from "./flow-pairing.js";
export { flowTitle } from "./flow-title.js";
export { diffJson } from "../model/json-diff.js";
export { HtmlReport } from "./html-report.js";
export { JsonReport } from "./json-report.js";
export { JUnitReport } from "./junit-report.js";
export { ReportTee } from "./report-tee.js";
export { diffLines } from "./line-diff.js";
export { requestKey } from "./request-key.js";
export { retainFlow } from "./retained-flow.js";
export { StatReport } from "./stat-report.js";
export { TextReport } from "./text-report.js";
