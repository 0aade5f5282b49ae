/**
 * Splits assembled spans into trees: spans joined by a parent link, or by a
 * trace id that came from a header (those were grouped by the caller), are in
 * one tree. A tree's id is the trace id of its root (the first span without a
 * parent in canonical order), so a header-less trace is named after the
 * request that started it.
 */
import type { Span } from '../model/span.js';
import { spanKey } from './assemble.js';

/** The parent's (trace id, span id): the link's own trace id, else the span's (a stored header link). */
function parentKey(s: Span): string | undefined {
  if (!s.parentSpanId) return undefined;
  return spanKey(s.parentLink?.traceId ?? s.traceId, s.parentSpanId);
}

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
  // Keyed by (trace id, span id): two traces may hold the same span id, and
  // joining by the id alone merged them (assembleTrace gives each link the
  // parent's own trace id, so inferred links across stored ids still resolve).
  const byKey = new Map<string, number[]>();
  const byHeaderTrace = new Map<string, number>();
  spans.forEach((s, i) => {
    const key = spanKey(s.traceId, s.spanId);
    const list = byKey.get(key) ?? [];
    list.push(i);
    byKey.set(key, list);
    if (s.traceIdSource !== 'none') {
      const first = byHeaderTrace.get(s.traceId);
      if (first === undefined) byHeaderTrace.set(s.traceId, i);
      else uf.union(first, i);
    }
  });
  spans.forEach((s, i) => {
    const parent = parentKey(s);
    if (parent === undefined) return;
    for (const j of byKey.get(parent) ?? []) if (j !== i) uf.union(i, j);
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
    const inTree = new Set(indexes.map((i) => spanKey(spans[i]!.traceId, spans[i]!.spanId)));
    const root = indexes.find((i) => {
      const parent = parentKey(spans[i]!);
      return parent === undefined || !inTree.has(parent);
    }) ?? indexes[0]!;
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
