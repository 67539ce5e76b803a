import { describe, expect, it } from "vitest";
import { diffLines } from "../../src/diff/line-diff.js";
import { type Edit, diffSequences } from "../../src/diff/sequence-diff.js";

/** Length of a longest common subsequence, by dynamic programming (the reference). */
function lcsLength(a: string[], b: string[]): number {
  const row = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    let diag = 0;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = a[i - 1] === b[j - 1] ? diag + 1 : Math.max(row[j]!, row[j - 1]!);
      diag = up;
    }
  }
  return row[b.length]!;
}

/** Replays an edit script: the kept and inserted elements in order must be b. */
function apply(edits: Edit[], a: string[], b: string[]): string[] {
  const out: string[] = [];
  let ai = 0;
  for (const e of edits) {
    if (e.op === "=") {
      expect(e.a).toBe(ai++);
      expect(a[e.a]).toBe(b[e.b]);
      out.push(a[e.a]!);
    } else if (e.op === "-") expect(e.a).toBe(ai++);
    else out.push(b[e.b]!);
  }
  expect(ai).toBe(a.length);
  return out;
}

describe("diffSequences", () => {
  it("finds a shortest edit script (random sequences against an LCS reference)", () => {
    let seed = 7;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 300; round++) {
      const a = Array.from({ length: rnd(25) }, () => "abcd"[rnd(4)]!);
      const b = Array.from({ length: rnd(25) }, () => "abcd"[rnd(4)]!);
      const edits = diffSequences(a, b)!;
      expect(apply(edits, a, b)).toEqual(b);
      const kept = edits.filter((e) => e.op === "=").length;
      expect(kept).toBe(lcsLength(a, b));
    }
  });

  it("gives up past maxEdits", () => {
    const a = Array.from({ length: 50 }, (_, i) => `a${i}`);
    const b = Array.from({ length: 50 }, (_, i) => `b${i}`);
    expect(diffSequences(a, b, 10)).toBeNull();
    expect(diffSequences(a, b, 100)).not.toBeNull();
  });
});

describe("diffLines", () => {
  it("is empty for equal texts", () => {
    expect(diffLines("a\nb\n", "a\nb\n")).toEqual([]);
  });

  it("makes unified hunks with context", () => {
    const a = Array.from({ length: 20 }, (_, i) => `line ${i}`).join("\n");
    const b = a.replace("line 3", "LINE 3").replace("line 15", "LINE 15");
    const hunks = diffLines(a, b, 2)!;
    expect(hunks).toEqual([
      {
        a_start: 2,
        a_lines: 5,
        b_start: 2,
        b_lines: 5,
        lines: [" line 1", " line 2", "-line 3", "+LINE 3", " line 4", " line 5"],
      },
      {
        a_start: 14,
        a_lines: 5,
        b_start: 14,
        b_lines: 5,
        lines: [" line 13", " line 14", "-line 15", "+LINE 15", " line 16", " line 17"],
      },
    ]);
  });

  it("joins changes closer than twice the context", () => {
    const a = "1\n2\n3\n4\n5\n6\n7\n8\n";
    const b = "1\nX\n3\n4\nY\n6\n7\n8\n";
    const hunks = diffLines(a, b, 2)!;
    expect(hunks).toHaveLength(1);
    expect(hunks[0]!.lines).toEqual([" 1", "-2", "+X", " 3", " 4", "-5", "+Y", " 6", " 7"]);
  });

  it("treats an empty text as no lines", () => {
    expect(diffLines("", "a\nb")).toEqual([{ a_start: 0, a_lines: 0, b_start: 1, b_lines: 2, lines: ["+a", "+b"] }]);
  });
});
