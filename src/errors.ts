/**
 * One error class per failure kind, each with a stable machine code and the CLI exit code
 * it maps to. Tests check codes, never message text.
 */

/** Exit codes of the CLI (spec §1). */
export const ExitCode = {
  OK: 0,
  /** finished, but a script raised or diff found differences */
  FINISHED_WITH_ERRORS: 1,
  /** usage error, or an input missing or unreadable */
  USAGE: 2,
  /** an input was corrupt or truncated; every complete flow before it was processed */
  CORRUPT_INPUT: 3,
} as const;

/**
 * Codes of the errors the library throws (ReflowError and its kinds, FlowStateError), as
 * README "Exit codes and errors" lists them.
 */
const LIBRARY_CODES = {
  E_USAGE: "bad command-line use",
  E_INPUT_MISSING: "an input does not exist",
  E_INPUT_UNREADABLE: "an input cannot be read",
  E_OUTPUT: "an output cannot be written",
  E_FLOW_TRUNCATED: "a flow is cut off by the end of the input",
  E_FLOW_CORRUPT: "a flow's bytes are not a valid flow",
  E_FLOW_VERSION: "a flow's format version is unknown",
  E_FLOW_SCHEMA: "a flow's parts are not what its version holds",
  E_FORMAT_UNKNOWN: "an input's format is not one reflow reads",
  E_WRITE_UNSUPPORTED: "a flow has no form in the format or version asked for",
  E_SCRIPT_LOAD: "a script cannot be found, compiled or started",
  E_SCRIPT_EXIT: "a script ended its thread or process (`process.exit()`) before the run finished",
  E_FILTER_SYNTAX: "a malformed filter expression",
  E_RULE_SYNTAX: "a malformed rewrite rule (--modify-headers, --modify-body, --map-remote, --map-local, --redact)",
  E_CA: "capture's CA cannot be read or made",
  E_LISTEN: "capture cannot listen on its address",
} as const;

/** Codes of the body codecs' errors, met when a body is read as text or decoded (model/). */
const BODY_CODES = {
  E_CHARSET: "text that cannot be decoded or encoded with its charset",
  E_CONTENT_ENCODING: "a body that cannot be decoded or encoded with its Content-Encoding",
} as const;

/** Codes of capture failures: a failed flow's `error.msg` ends in `(CODE)` (docs/capture.md). */
const CAPTURE_FAILURE_CODES = {
  E_UPSTREAM_REFUSED: "connection refused",
  E_UPSTREAM_DNS: "name not resolved",
  E_UPSTREAM_UNREACHABLE: "host unreachable",
  E_UPSTREAM_TLS: "TLS with the server failed",
  E_UPSTREAM_TIMEOUT: "no answer within --timeout",
  E_UPSTREAM_RESET: "the server reset or closed early",
  E_UPSTREAM_PROTOCOL: "invalid HTTP from the server",
  E_UPSTREAM_PROXY: "the upstream proxy refused CONNECT",
  E_CLIENT_GONE: "the client went away mid-request or mid-response",
  E_SHUTDOWN: "still in flight at shutdown",
  E_KILLED: "killed by a script (error.msg is mitmproxy's `Connection killed.`)",
} as const;

/**
 * Every error code reflow uses, each with what it means: the one list (test/errors.test.ts
 * checks that no other code appears in src/, and that each is documented).
 */
export const ERROR_CODES: Readonly<Record<ErrorCode | BodyErrorCode | CaptureFailureCode, string>> = {
  ...LIBRARY_CODES,
  ...BODY_CODES,
  ...CAPTURE_FAILURE_CODES,
};

/** A code of an error the library throws. */
export type ErrorCode = keyof typeof LIBRARY_CODES;
/** A code of a body codec's error. */
export type BodyErrorCode = keyof typeof BODY_CODES;
/** A code of a capture failure, recorded in the failed flow. */
export type CaptureFailureCode = keyof typeof CAPTURE_FAILURE_CODES;

/** An error of reflow's own: a stable code and the CLI exit code it maps to. */
export class ReflowError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad command-line use. */
export class UsageError extends ReflowError {
  constructor(message: string, code: ErrorCode = "E_USAGE") {
    super(code, message, ExitCode.USAGE);
  }
}

/** An input that cannot be opened or read at all. */
export class InputError extends ReflowError {
  constructor(
    code: "E_INPUT_MISSING" | "E_INPUT_UNREADABLE" | "E_FORMAT_UNKNOWN",
    readonly file: string,
    message: string,
  ) {
    super(code, `${file}: ${message}`, ExitCode.USAGE);
  }
}

/** An output that cannot be written. */
export class OutputError extends ReflowError {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super("E_OUTPUT", `${file}: ${message}`, ExitCode.USAGE);
  }
}

/** A user script that cannot be found, compiled or started: the run stops before any output. */
export class ScriptLoadError extends ReflowError {
  constructor(
    /** the script, or where in it the failure is (`script.ts:2:7`) */
    readonly script: string,
    readonly detail: string,
  ) {
    super("E_SCRIPT_LOAD", `${script}: ${detail}`, ExitCode.USAGE);
  }
}

/** A script ended its thread or process (`process.exit()`) before the run finished: nothing was written. */
export class ScriptExitError extends ReflowError {
  constructor(message: string) {
    super("E_SCRIPT_EXIT", message, ExitCode.FINISHED_WITH_ERRORS);
  }
}

/** A flow that cannot be written in the requested format or version (e.g. UDP at v17). */
export class WriteUnsupportedError extends ReflowError {
  constructor(message: string) {
    super("E_WRITE_UNSUPPORTED", message, ExitCode.USAGE);
  }

  /** The run's refusal of such a flow: named, and nothing written, unless --skip-unwritable. */
  static refusing(file: string, index: number, type: string | null, e: WriteUnsupportedError): WriteUnsupportedError {
    return new WriteUnsupportedError(
      `${file}: flow #${index} (${type}): ${e.message}; nothing written (--skip-unwritable leaves such flows out)`,
    );
  }
}

/**
 * Damage in a flow file. Every flow before `flowIndex` was read whole; `offset` is the
 * byte offset in the file where the damaged flow (or the damage) starts.
 */
export class FlowReadError extends ReflowError {
  declare readonly code: "E_FLOW_TRUNCATED" | "E_FLOW_CORRUPT" | "E_FLOW_VERSION" | "E_FLOW_SCHEMA";

  constructor(
    code: FlowReadError["code"],
    readonly file: string,
    readonly offset: number,
    readonly flowIndex: number,
    readonly detail: string,
  ) {
    super(code, `${file}: ${excerpt(detail)} (byte offset ${offset}, flow #${flowIndex})`, ExitCode.CORRUPT_INPUT);
  }
}

/** Longest detail a FlowReadError's message holds whole. */
const DETAIL_SHOWN = 300;

/**
 * `detail` short enough for one line: a detail quoting a damaged field (a 1 MB "address")
 * keeps its start and its end, which say what is wrong, and the count of what was left out.
 */
function excerpt(detail: string): string {
  if (detail.length <= DETAIL_SHOWN) return detail;
  const head = detail.slice(0, 200);
  const tail = detail.slice(-80);
  return `${head}…(${detail.length - head.length - tail.length} characters left out)…${tail}`;
}

/** Thrown by migrations and schema checks; the reader adds file, offset and flow index. */
export class FlowStateError extends Error {
  constructor(
    readonly code: "E_FLOW_VERSION" | "E_FLOW_SCHEMA",
    message: string,
  ) {
    super(message);
    this.name = "FlowStateError";
  }
}

/** `reflow capture` cannot start: its CA cannot be read or made, or its address cannot be bound. */
export class CaptureSetupError extends ReflowError {
  constructor(code: "E_CA" | "E_LISTEN", message: string) {
    super(code, message, ExitCode.USAGE);
  }
}
