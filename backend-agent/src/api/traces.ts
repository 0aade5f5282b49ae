/** Loading traces for serving: every served trace goes through assembleTrace. */
import type { Span } from '../model/span.js';
import { assembleTrace } from '../reconstruct/index.js';
import type { SpanStore } from '../store/index.js';

export function loadAssembledTrace(store: SpanStore, traceId: string): Span[] {
  return assembleTrace(store.getTrace(traceId));
}

/** Assembled traces in the order of `traceIds`; ids with no spans are left out. */
export function loadAssembledTraces(store: SpanStore, traceIds: readonly string[]): Array<{ traceId: string; spans: Span[] }> {
  const byId = store.getTraces(traceIds);
  const out: Array<{ traceId: string; spans: Span[] }> = [];
  for (const traceId of traceIds) {
    const spans = byId.get(traceId);
    if (spans && spans.length > 0) out.push({ traceId, spans: assembleTrace(spans) });
  }
  return out;
}
