/**
 * Splits assembled spans into trees: spans joined by a parent link, or by a
 * trace id that came from a header (those were grouped by the caller), are in
 * one tree. A tree's id is the trace id of its root (the first span without a
 * parent in canonical order), so a header-less trace is named after the
 * request that started it.
 */
import type { Span } from '../model/span.js';

class UnionFind {
  private readonly parent: number[];
  constructor(n: number) {
    this.parent = Array.from({ length: n }, (_, i) => i);
  }
  find(i: number): number {
    while (this.parent[i] !== i) {
      this.parent[i] = this.parent[this.parent[i]!]!;
      i = this.parent[i]!;
    }
    return i;
  }
  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    // The smaller index (earlier in canonical order) represents the set: deterministic.
    if (ra < rb) this.parent[rb] = ra;
    else if (rb < ra) this.parent[ra] = rb;
  }
}

export interface TraceTree {
  traceId: string;
  /** Indexes of the tree's spans in the input. */
  members: number[];
  /** Canonical order; every span's traceId (and its parent link's) is the tree's id. */
  spans: Span[];
}

/** `spans` in canonical order, as assembleTrace returns them. */
export function traceComponents(spans: readonly Span[]): TraceTree[] {
  const uf = new UnionFind(spans.length);
  const bySpanId = new Map<string, number[]>();
  const byHeaderTrace = new Map<string, number>();
  spans.forEach((s, i) => {
    const list = bySpanId.get(s.spanId) ?? [];
    list.push(i);
    bySpanId.set(s.spanId, list);
    if (s.traceIdSource !== 'none') {
      const first = byHeaderTrace.get(s.traceId);
      if (first === undefined) byHeaderTrace.set(s.traceId, i);
      else uf.union(first, i);
    }
  });
  spans.forEach((s, i) => {
    if (!s.parentSpanId) return;
    for (const j of bySpanId.get(s.parentSpanId) ?? []) if (j !== i) uf.union(i, j);
  });

  const members = new Map<number, number[]>();
  spans.forEach((_, i) => {
    const r = uf.find(i);
    const list = members.get(r) ?? [];
    list.push(i);
    members.set(r, list);
  });
  const trees: TraceTree[] = [];
  for (const indexes of members.values()) {
    const inTree = new Set(indexes.map((i) => spans[i]!.spanId));
    const root = indexes.find((i) => !spans[i]!.parentSpanId || !inTree.has(spans[i]!.parentSpanId!)) ?? indexes[0]!;
    const traceId = spans[root]!.traceId;
    trees.push({
      traceId,
      members: indexes,
      spans: indexes.map((i) => {
        const s = spans[i]!;
        if (s.traceId === traceId && (!s.parentLink || s.parentLink.traceId === traceId)) return s;
        const renamed: Span = { ...s, traceId };
        if (s.parentLink) renamed.parentLink = { ...s.parentLink, traceId };
        return renamed;
      }),
    });
  }
  return trees;
}
