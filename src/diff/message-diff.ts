/**
 * Comparing the message lists of WebSocket, TCP and UDP flows as sequences: messages
 * inserted, removed or replaced, found by a shortest edit script over the messages.
 */
import { isUtf8 } from "node:buffer";
import { createHash } from "node:crypto";
import type { Change, MessageSummary } from "./changes.js";
import { type Edit, diffSequences } from "./sequence-diff.js";

/** What of a message is compared: the common shape of WebSocket and TCP/UDP messages. */
export interface ComparedMessage {
  fromClient: boolean;
  /** WebSocket only */
  type?: "text" | "binary";
  content: Buffer;
  timestamp: number;
  dropped?: boolean;
  injected?: boolean;
}

const PREVIEW_CHARS = 80;

/** A string equal for equal messages (content hashed when long). */
function messageKey(m: ComparedMessage): string {
  const c =
    m.content.length <= 64 ? m.content.toString("latin1") : createHash("sha1").update(m.content).digest("base64");
  return `${m.fromClient ? "c" : "s"}${m.type ?? ""}${m.dropped ? "d" : ""}${m.injected ? "i" : ""}:${m.content.length}:${c}`;
}

/** How a message is shown in a change. */
export function summarizeMessage(m: ComparedMessage, index: number): MessageSummary {
  const out: MessageSummary = { index, from_client: m.fromClient, size: m.content.length, sha256: "" };
  if (m.type) out.type = m.type;
  if (isUtf8(m.content)) {
    const text = m.content.toString("utf8");
    out.preview = text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS)}…` : text;
  }
  out.sha256 = createHash("sha256").update(m.content).digest("hex");
  if (m.dropped) out.dropped = true;
  if (m.injected) out.injected = true;
  return out;
}

/** Message i of a kept as message i of b, the rest replaced: for lists too different for an edit script. */
function positionalEdits(na: number, nb: number): Edit[] {
  const edits: Edit[] = [];
  for (let i = 0; i < Math.max(na, nb); i++) {
    if (i < na) edits.push({ op: "-", a: i });
    if (i < nb) edits.push({ op: "+", b: i });
  }
  return edits;
}

/**
 * Appends the differences between two message lists to `out` under `field`: a deleted
 * and an inserted message at the same place make one change with both sides. With
 * `timestamps`, messages kept on both sides are also compared by timestamp.
 */
export function diffMessages(
  field: string,
  a: readonly ComparedMessage[],
  b: readonly ComparedMessage[],
  timestamps: boolean,
  out: Change[],
): void {
  const ka = a.map(messageKey);
  const kb = b.map(messageKey);
  let edits = diffSequences(ka, kb);
  // too different for an edit script: compare position by position (equal pairs are skipped below)
  edits ??= positionalEdits(a.length, b.length);
  let deleted: number[] = [];
  let inserted: number[] = [];
  const flush = (): void => {
    const n = Math.max(deleted.length, inserted.length);
    for (let i = 0; i < n; i++) {
      const ia = deleted[i];
      const ib = inserted[i];
      if (ia !== undefined && ib !== undefined && ka[ia] === kb[ib]) continue;
      out.push({
        kind: "message",
        field,
        ...(ia !== undefined && { a: summarizeMessage(a[ia]!, ia) }),
        ...(ib !== undefined && { b: summarizeMessage(b[ib]!, ib) }),
      });
    }
    deleted = [];
    inserted = [];
  };
  for (const e of edits) {
    if (e.op === "-") deleted.push(e.a);
    else if (e.op === "+") inserted.push(e.b);
    else {
      flush();
      const ta = a[e.a]!.timestamp;
      const tb = b[e.b]!.timestamp;
      if (timestamps && ta !== tb) out.push({ kind: "value", field: `${field}[${e.a}].timestamp`, a: ta, b: tb });
    }
  }
  flush();
}
