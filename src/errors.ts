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

export type ErrorCode =
  | "E_USAGE"
  | "E_INPUT_MISSING"
  | "E_INPUT_UNREADABLE"
  | "E_OUTPUT"
  | "E_FLOW_TRUNCATED"
  | "E_FLOW_CORRUPT"
  | "E_FLOW_VERSION"
  | "E_FLOW_SCHEMA"
  | "E_FORMAT_UNKNOWN"
  | "E_WRITE_UNSUPPORTED"
  | "E_SCRIPT_LOAD"
  | "E_FILTER_SYNTAX"
  | "E_RULE_SYNTAX"
  | "E_CA"
  | "E_LISTEN";

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
    readonly script: string,
    message: string,
  ) {
    super("E_SCRIPT_LOAD", `${script}: ${message}`, ExitCode.USAGE);
  }
}

/** A flow that cannot be written in the requested format or version (e.g. UDP at v17). */
export class WriteUnsupportedError extends ReflowError {
  constructor(message: string) {
    super("E_WRITE_UNSUPPORTED", message, ExitCode.USAGE);
  }
}

/**
 * Damage in a flow file. Every flow before `flowIndex` was read whole; `offset` is the
 * byte offset in the file where the damaged flow (or the damage) starts.
 */
export class FlowReadError extends ReflowError {
  constructor(
    code: "E_FLOW_TRUNCATED" | "E_FLOW_CORRUPT" | "E_FLOW_VERSION" | "E_FLOW_SCHEMA",
    readonly file: string,
    readonly offset: number,
    readonly flowIndex: number,
    readonly detail: string,
  ) {
    super(code, `${file}: ${detail} (byte offset ${offset}, flow #${flowIndex})`, ExitCode.CORRUPT_INPUT);
  }
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
