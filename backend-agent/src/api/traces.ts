/**
 * Loading traces for serving: every served trace is built at query time
 * (reconstruct/trace-builder.ts), so header-less hops stored under ids of
 * their own come back as one tree named after its root.
 */
import type { Span } from '../model/span.js';
import { buildTrace, buildTraces } from '../reconstruct/index.js';
import type { SpanStore } from '../store/index.js';

/** The tree holding trace `traceId` (any stored trace id of it); undefined when unknown. */
export function loadReconstructedTrace(store: SpanStore, traceId: string): { traceId: string; spans: Span[] } | undefined {
  const built = buildTrace(store, traceId);
  return built && { traceId: built.traceId, spans: built.spans };
}

/** The spans of the tree holding `traceId`; empty when unknown. */
export function loadAssembledTrace(store: SpanStore, traceId: string): Span[] {
  return loadReconstructedTrace(store, traceId)?.spans ?? [];
}

/**
 * Trees for `traceIds` in that order, each once; ids with no spans are left
 * out. `traceId` is the tree's id, which for an id inside a tree is its root's.
 */
export function loadAssembledTraces(store: SpanStore, traceIds: readonly string[]): Array<{ traceId: string; spans: Span[]; memberTraceIds: string[] }> {
  return buildTraces(store, traceIds);
}
