/**
 * Assembles one trace for serving: orders its spans canonically and fills in
 * missing parent links by running the link layers in order. Pure: no store
 * access, input spans are not mutated, the same spans in any order give the
 * same output.
 */
import type { Span, SpanLink } from '../model/span.js';
import { canonicalOrder } from './canonical-order.js';
import { separateForwardedContexts } from './forwarded-context.js';
import { headerLinks } from './header-links.js';
import { inProcessLinks } from './in-process-links.js';
import { socketJoinLinks } from './socket-join-links.js';
import type { LinkLayer, LinkProposal, WorkingSet } from './link-layer.js';

/**
 * Header links first (certain), then the two sides of one exchange (exact on
 * one host), then in-process causality (thread, correlation id, timing).
 */
export const DEFAULT_LAYERS: readonly LinkLayer[] = [headerLinks, socketJoinLinks, inProcessLinks];

class MutableWorkingSet implements WorkingSet {
  readonly spans: Span[];
  private readonly parents: Array<string | undefined>;
  private readonly indexById = new Map<string, number>();

  constructor(spans: Span[]) {
    this.spans = spans;
    this.parents = spans.map((s) => s.parentSpanId || undefined);
    spans.forEach((s, i) => {
      if (!this.indexById.has(s.spanId)) this.indexById.set(s.spanId, i);
    });
  }

  parentOf(index: number): string | undefined {
    return this.parents[index];
  }

  indexOfSpanId(spanId: string): number | undefined {
    return this.indexById.get(spanId);
  }

  /** True when following parent links up from `fromIndex` reaches `target` (or starts there). */
  private reaches(fromIndex: number, target: number): boolean {
    let current: number | undefined = fromIndex;
    // Bounded walk: stored parents could already form a loop.
    for (let steps = 0; current !== undefined && steps <= this.spans.length; steps++) {
      if (current === target) return true;
      const parentId: string | undefined = this.parents[current];
      current = parentId === undefined ? undefined : this.indexById.get(parentId);
    }
    return false;
  }

  /** Applies a proposal unless the span is already linked or the link would close a cycle. */
  apply(p: LinkProposal): void {
    const child = this.spans[p.child];
    if (!child || this.parents[p.child] !== undefined || p.parentSpanId === child.spanId) return;
    const parentIndex = this.indexById.get(p.parentSpanId);
    if (parentIndex !== undefined && this.reaches(parentIndex, p.child)) return;
    this.parents[p.child] = p.parentSpanId;
    this.spans[p.child] = {
      ...child,
      parentSpanId: p.parentSpanId,
      parentLink: linkOf(child.traceId, p),
    };
  }
}

function linkOf(traceId: string, p: LinkProposal): SpanLink {
  const link: SpanLink = { traceId, spanId: p.parentSpanId, method: p.method, confidence: p.confidence };
  if (p.alternatives !== undefined) link.alternatives = p.alternatives;
  if (p.networkTimeNs !== undefined) link.networkTimeNs = p.networkTimeNs;
  return link;
}

export function assembleTrace(spans: readonly Span[], layers: readonly LinkLayer[] = DEFAULT_LAYERS): Span[] {
  // Shallow copies: callers may annotate the result without touching their input.
  const ws = new MutableWorkingSet(separateForwardedContexts(canonicalOrder(spans).map((s) => ({ ...s }))));
  for (const layer of layers) {
    const proposals = [...layer.propose(ws)].sort((a, b) => a.child - b.child);
    for (const proposal of proposals) ws.apply(proposal);
  }
  return ws.spans;
}
