/**
 * What a diff of two flow files finds: per flow pair a status and a list of changes, each
 * naming the field it concerns. This is also the `--json` format (docs/diff-json.md), so
 * the property names are snake_case and every shape is plain JSON.
 */

/** Any JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A field whose value differs (`request.method`, `response.status_code`, `client_conn.sni`, `metadata.tag`); `a`/`b` left out where the field is absent. */
export interface ValueChange {
  kind: "value";
  field: string;
  a?: JsonValue;
  b?: JsonValue;
}

/** One header name whose values differ; `a`/`b` are all its values on each side (empty when absent). */
export interface HeaderChange {
  kind: "header";
  /** `request.headers`, `response.headers`, `request.trailers` or `response.trailers` */
  field: string;
  /** the name as written in the flow (B's spelling when both have it) */
  name: string;
  a: string[];
  b: string[];
}

/** Same header fields in another order (only with `--header-order`); `a`/`b` are the names in order. */
export interface HeaderOrderChange {
  kind: "header-order";
  field: string;
  a: string[];
  b: string[];
}

/** A difference inside two JSON bodies, at a JSONPath-like `path` (`$.items[3].name`); `a`/`b` left out where the path is absent. */
export interface JsonBodyChange {
  kind: "json";
  field: string;
  path: string;
  a?: JsonValue;
  b?: JsonValue;
}

/** One hunk of a line diff, as in a unified diff: 1-based starts, line counts, and the lines prefixed with " ", "-" or "+". */
export interface TextHunk {
  a_start: number;
  a_lines: number;
  b_start: number;
  b_lines: number;
  lines: string[];
}

/** Two text bodies, line-diffed. */
export interface TextBodyChange {
  kind: "text";
  field: string;
  hunks: TextHunk[];
}

/** What a body is reduced to when it is compared as a whole. */
export interface BodySummary {
  /** decoded size in bytes */
  size: number;
  /** SHA-256 of the decoded body, hex */
  sha256: string;
}

/** Two bodies compared as a whole: binary, or present on one side only (null = no body recorded). */
export interface WholeBodyChange {
  kind: "body";
  field: string;
  a: BodySummary | null;
  b: BodySummary | null;
}

/** A WebSocket, TCP or UDP message as a change shows it. */
export interface MessageSummary {
  /** 0-based position among the flow's messages on its side */
  index: number;
  from_client: boolean;
  /** WebSocket only */
  type?: "text" | "binary";
  size: number;
  /** the start of the content when it is UTF-8 text */
  preview?: string;
  sha256: string;
  /** WebSocket: the proxy did not forward it */
  dropped?: true;
  /** WebSocket: the proxy injected it */
  injected?: true;
}

/** A message only on one side (`a` or `b` left out), or replaced by another at the same place. */
export interface MessageChange {
  kind: "message";
  /** `websocket.messages` or `messages` */
  field: string;
  a?: MessageSummary;
  b?: MessageSummary;
}

/** One difference between two paired flows. */
export type Change =
  ValueChange | HeaderChange | HeaderOrderChange | JsonBodyChange | TextBodyChange | WholeBodyChange | MessageChange;

/** How a flow of A relates to B. */
export type FlowStatus = "same" | "changed" | "added" | "removed";

/** The outcome for one flow pair, or one flow found on one side only. */
export interface FlowDiff {
  status: FlowStatus;
  /** the flow's id in A, null when it is only in B */
  a: string | null;
  /** the flow's id in B, null when it is only in A */
  b: string | null;
  /** what the flow is: `GET https://example.com/x`, `TCP example.com:443`, `DNS example.com A` */
  title: string;
  changes: Change[];
}

/** Flow counts by status. */
export interface DiffSummary {
  same: number;
  changed: number;
  added: number;
  removed: number;
}

/** True when the summary counts any difference. */
export function hasDifferences(s: DiffSummary): boolean {
  return s.changed + s.added + s.removed > 0;
}
