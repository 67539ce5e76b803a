/** Line diffs of two texts as unified-diff hunks with context. */
import type { TextHunk } from "./changes.js";
import { type Edit, diffSequences } from "./sequence-diff.js";

/** A text's lines; a final newline ends the last line rather than starting an empty one (when both sides have it). */
function splitLines(text: string, dropFinal: boolean): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (dropFinal) lines.pop();
  return lines;
}

/**
 * The hunks that turn text `a` into `b`, each with up to `context` unchanged lines around
 * its changes; [] when the texts are equal, null when they differ in too many lines
 * (more than `maxEdits`) for a line diff to help.
 */
export function diffLines(a: string, b: string, context = 3, maxEdits = 2000): TextHunk[] | null {
  const dropFinal = a.endsWith("\n") && b.endsWith("\n");
  const la = splitLines(a, dropFinal);
  const lb = splitLines(b, dropFinal);
  const edits = diffSequences(la, lb, maxEdits);
  return edits && hunksOf(edits, la, lb, context);
}

/** Groups an edit script into hunks: changes less than 2 × context lines apart share one. */
export function hunksOf(
  edits: readonly Edit[],
  a: readonly string[],
  b: readonly string[],
  context: number,
): TextHunk[] {
  // lines of a and b before each edit, for the hunk headers
  const aBefore = new Int32Array(edits.length + 1);
  const bBefore = new Int32Array(edits.length + 1);
  edits.forEach((e, i) => {
    aBefore[i + 1] = aBefore[i]! + (e.op === "+" ? 0 : 1);
    bBefore[i + 1] = bBefore[i]! + (e.op === "-" ? 0 : 1);
  });
  const hunks: TextHunk[] = [];
  let i = 0;
  while (i < edits.length) {
    while (i < edits.length && edits[i]!.op === "=") i++;
    if (i >= edits.length) break;
    const start = Math.max(0, i - context); // never before the last hunk: changes further apart than 2 × context split hunks
    let end = i;
    let j = i;
    while (j < edits.length) {
      if (edits[j]!.op !== "=") {
        end = ++j;
        continue;
      }
      let run = j;
      while (run < edits.length && edits[run]!.op === "=") run++;
      if (run < edits.length && run - j <= 2 * context) j = run;
      else break;
    }
    const stop = Math.min(edits.length, end + context);
    const lines: string[] = [];
    for (let e = start; e < stop; e++) {
      const edit = edits[e]!;
      if (edit.op === "=") lines.push(` ${a[edit.a]}`);
      else if (edit.op === "-") lines.push(`-${a[edit.a]}`);
      else lines.push(`+${b[edit.b]}`);
    }
    const aLines = aBefore[stop]! - aBefore[start]!;
    const bLines = bBefore[stop]! - bBefore[start]!;
    hunks.push({
      a_start: aLines ? aBefore[start]! + 1 : aBefore[start]!,
      a_lines: aLines,
      b_start: bLines ? bBefore[start]! + 1 : bBefore[start]!,
      b_lines: bLines,
      lines,
    });
    i = stop;
  }
  return hunks;
}
