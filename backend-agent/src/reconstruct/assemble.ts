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

/** A span's identity for parent links: a span id is unique only within its trace. */
export function spanKey(traceId: string, spanId: string): string {
  return `${traceId}|${spanId}`;
}

/** Two trace ids that both came from headers and differ are two traces: no link may join them. */
function headerTracesDiffer(a: Span, b: Span): boolean {
  return a.traceIdSource !== 'none' && b.traceIdSource !== 'none' && a.traceId !== b.traceId;
}

class MutableWorkingSet implements WorkingSet {
  readonly spans: Span[];
  private readonly parents: Array<string | undefined>;
  /** The span each parent link resolved to, when it is in the working set. */
  private readonly parentIndexes: Array<number | undefined>;
  private readonly indexById = new Map<string, number>();
  private readonly indexByKey = new Map<string, number>();

  constructor(spans: Span[]) {
    this.spans = spans;
    spans.forEach((s, i) => {
      if (!this.indexById.has(s.spanId)) this.indexById.set(s.spanId, i);
      const key = spanKey(s.traceId, s.spanId);
      if (!this.indexByKey.has(key)) this.indexByKey.set(key, i);
    });
    this.parents = spans.map((s) => s.parentSpanId || undefined);
    // A stored parent came from the span's own header: it is in the span's trace.
    this.parentIndexes = spans.map((s) => (s.parentSpanId ? this.indexByKey.get(spanKey(s.parentLink?.traceId ?? s.traceId, s.parentSpanId)) : undefined));
  }

  parentOf(index: number): string | undefined {
    return this.parents[index];
  }

  indexOfSpanId(spanId: string, traceId?: string): number | undefined {
    return traceId === undefined ? this.indexById.get(spanId) : this.indexByKey.get(spanKey(traceId, spanId));
  }

  /** True when following parent links up from `fromIndex` reaches `target` (or starts there). */
  private reaches(fromIndex: number, target: number): boolean {
    let current: number | undefined = fromIndex;
    // Bounded walk: stored parents could already form a loop.
    for (let steps = 0; current !== undefined && steps <= this.spans.length; steps++) {
      if (current === target) return true;
      current = this.parentIndexes[current];
    }
    return false;
  }

  /**
   * Applies a proposal unless the span is already linked, the link would
   * close a cycle, or it would join two traces whose ids both came from headers.
   */
  apply(p: LinkProposal): void {
    const child = this.spans[p.child];
    // Same id as the child: served trees rename every span to one trace id, where the link would name the span itself.
    if (!child || this.parents[p.child] !== undefined || p.parentSpanId === child.spanId) return;
    // A layer that named only an id gets the span of the child's own trace first.
    let parentIndex = p.parentIndex ?? this.indexByKey.get(spanKey(child.traceId, p.parentSpanId)) ?? this.indexById.get(p.parentSpanId);
    let parent = parentIndex === undefined ? undefined : this.spans[parentIndex];
    if (p.parentIndex === undefined && parent !== undefined && headerTracesDiffer(parent, child)) {
      // Only an id was named, and the span holding it belongs to another trace:
      // the parent is outside the window (a caller not captured), not that span.
      parentIndex = undefined;
      parent = undefined;
    }
    if (parent !== undefined && parent.spanId !== p.parentSpanId) return;
    if (parent !== undefined && (headerTracesDiffer(parent, child) || this.reaches(parentIndex as number, p.child))) return;
    this.parents[p.child] = p.parentSpanId;
    this.parentIndexes[p.child] = parentIndex;
    this.spans[p.child] = {
      ...child,
      parentSpanId: p.parentSpanId,
      // The link names the parent span itself: its trace id, which an inferred link may not share with the child.
      parentLink: linkOf(parent?.traceId ?? child.traceId, p),
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
