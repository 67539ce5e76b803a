/**
 * The shortest edit script between two sequences (Myers' O(ND) algorithm, "An O(ND)
 * Difference Algorithm and Its Variations", 1986), for line diffs and message lists.
 * The common head and tail are trimmed first: most bodies that differ differ a little.
 */

/** One step of an edit script: `a[a]` kept as `b[b]`, `a[a]` deleted, or `b[b]` inserted. */
export type Edit = { op: "="; a: number; b: number } | { op: "-"; a: number } | { op: "+"; b: number };

/**
 * The edit script turning `a` into `b`, in order, or null when it takes more than
 * `maxEdits` deletions and insertions (memory grows with the square of that), or more
 * than about `maxSteps` element comparisons (time grows with length × edits).
 */
export function diffSequences<T>(
  a: readonly T[],
  b: readonly T[],
  maxEdits = 2000,
  maxSteps = 50_000_000,
): Edit[] | null {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;

  const middle = shortestMiddle(a, b, head, a.length - tail, head, b.length - tail, maxEdits, maxSteps);
  if (middle === null) return null;
  const edits: Edit[] = [];
  for (let i = 0; i < head; i++) edits.push({ op: "=", a: i, b: i });
  for (const e of middle) edits.push(e); // not push(...middle): that overflows the stack on long texts
  for (let i = tail; i > 0; i--) edits.push({ op: "=", a: a.length - i, b: b.length - i });
  return edits;
}

/** Myers over `a[a0..a1)` and `b[b0..b1)`, with a trace of the frontier per step for the way back. */
function shortestMiddle<T>(
  a: readonly T[],
  b: readonly T[],
  a0: number,
  a1: number,
  b0: number,
  b1: number,
  maxEdits: number,
  maxSteps: number,
): Edit[] | null {
  const n = a1 - a0;
  const m = b1 - b0;
  const max = n + m;
  const offset = max + 1;
  // v[offset + k]: the furthest x reached on diagonal k = x - y
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  let found = -1;
  let steps = 0;
  for (let d = 0; d <= Math.min(max, maxEdits) && steps <= maxSteps; d++) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && v[offset + k - 1]! < v[offset + k + 1]!) ? v[offset + k + 1]! : v[offset + k - 1]! + 1;
      let y = x - k;
      const from = x;
      while (x < n && y < m && a[a0 + x] === b[b0 + y]) {
        x++;
        y++;
      }
      steps += x - from + 1;
      v[offset + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    if (found >= 0) break;
  }
  if (found < 0) return null;

  const out: Edit[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const snap = trace[d]!; // the frontier after step d - 1; diagonal kk sits at kk + d + 1
    const at = (kk: number): number => snap[kk + d + 1]!;
    const k = x - y;
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1));
    const prevK = down ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    const snakeStart = down ? prevX : prevX + 1;
    while (x > snakeStart) {
      x--;
      y--;
      out.push({ op: "=", a: a0 + x, b: b0 + y });
    }
    out.push(down ? { op: "+", b: b0 + prevY } : { op: "-", a: a0 + prevX });
    x = prevX;
    y = prevY;
  }
  while (x > 0) {
    x--;
    y--;
    out.push({ op: "=", a: a0 + x, b: b0 + y });
  }
  return out.reverse();
}
