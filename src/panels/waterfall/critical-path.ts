/**
 * The critical path: the chain of span sections that determines the trace's
 * end-to-end latency, computed the way Jaeger UI and Grafana's trace view
 * define it. Walk backwards from the end of the root: while a span waits on
 * a child, the child that finished last (before the point we are at) is what
 * it waited for, so the path descends into it; when no child is left, the
 * span itself was working, and the path returns to the parent at the
 * moment this span started. Children are clipped to their parent's interval
 * first (an async child outliving its parent did not delay it).
 *
 * Pure and O(n log n): children sorted by end once, and because the walk's
 * time cursor only moves backwards, each span's candidate list is consumed
 * with a pointer instead of rescanned.
 */

export interface CriticalSegment {
  /** Row index of the span. */
  index: number;
  /** Offsets in ms from the trace start. */
  startMs: number;
  endMs: number;
}

export interface TimedRow {
  parentIndex: number;
  offsetMs: number;
  durationMs: number;
}

const EPS = 1e-9;

/**
 * Segments in chronological order. Rows must be in an order where parents
 * come before children (the waterfall's depth-first order). With several
 * roots (spans whose parent was not captured) the root that ends last is the
 * trace's end, so its path is the critical one.
 */
export function criticalPath(rows: readonly TimedRow[]): CriticalSegment[] {
  const n = rows.length;
  if (n === 0) return [];
  const start = new Float64Array(n);
  const end = new Float64Array(n);
  const children: number[][] = Array.from({ length: n }, () => []);
  let root = -1;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    let s = r.offsetMs;
    let e = r.offsetMs + r.durationMs;
    if (r.parentIndex >= 0) {
      s = Math.max(s, start[r.parentIndex]!);
      e = Math.max(s, Math.min(e, end[r.parentIndex]!));
      children[r.parentIndex]!.push(i);
    } else if (root < 0 || e > end[root]! + EPS || (Math.abs(e - end[root]!) <= EPS && s < start[root]!)) {
      root = i;
    }
    start[i] = s;
    end[i] = e;
  }
  // Latest end first; at equal ends the later start (it is what finished the wait).
  for (const list of children) list.sort((a, b) => end[b]! - end[a]! || start[b]! - start[a]! || a - b);
  const next = new Int32Array(n);
  const segments: CriticalSegment[] = [];
  let cur = root;
  let cursor = end[root]!;
  for (;;) {
    const kids = children[cur]!;
    let p = next[cur]!;
    // Children ending after the cursor overlap a section already on the path: never candidates again.
    while (p < kids.length && end[kids[p]!]! > cursor + EPS) p++;
    // Zero-length children delay nothing.
    while (p < kids.length && end[kids[p]!]! - start[kids[p]!]! <= EPS) p++;
    if (p < kids.length) {
      const child = kids[p]!;
      next[cur] = p + 1;
      if (cursor - end[child]! > EPS) segments.push({ index: cur, startMs: end[child]!, endMs: cursor });
      cursor = Math.min(cursor, end[child]!);
      cur = child;
      continue;
    }
    next[cur] = p;
    if (cursor - start[cur]! > EPS) segments.push({ index: cur, startMs: start[cur]!, endMs: cursor });
    if (cur === root) break;
    cursor = Math.min(cursor, start[cur]!);
    cur = rows[cur]!.parentIndex;
  }
  return segments.reverse();
}
