/**
 * Links read from propagation headers, as captured.
 *
 * A server span whose request carried a trace context is a child of the
 * caller's span named in it (`traceContext.callerSpanId`). The ingest side
 * gives a client span whose outbound request carried a context that same id,
 * so the local client span and the server span it called join exactly.
 *
 * A client span's own context may also name the caller's parent (B3, Jaeger):
 * that is used only when such a span is in the trace, since an instrumented
 * application's internal span ids are otherwise invisible to us.
 */
import type { LinkLayer, LinkProposal, WorkingSet } from './link-layer.js';

export const headerLinks: LinkLayer = {
  name: 'header',
  propose(ws: WorkingSet): LinkProposal[] {
    const proposals: LinkProposal[] = [];
    ws.spans.forEach((span, index) => {
      if (ws.parentOf(index) !== undefined || !span.traceContext) return;
      const ctx = span.traceContext;
      if (ctx.traceId !== span.traceId) return; // a context from another trace is not a parent link
      // The header names a span of its own trace; another trace may hold the same id.
      if (span.kind === 'server' && ctx.callerSpanId && ctx.callerSpanId !== span.spanId) {
        const parentIndex = ws.indexOfSpanId(ctx.callerSpanId, span.traceId);
        proposals.push({ child: index, parentSpanId: ctx.callerSpanId, ...(parentIndex !== undefined ? { parentIndex } : {}), method: 'header', confidence: 1 });
      } else if (span.kind === 'client' && ctx.callerParentSpanId && ctx.callerParentSpanId !== span.spanId) {
        const parentIndex = ws.indexOfSpanId(ctx.callerParentSpanId, span.traceId);
        if (parentIndex !== undefined) proposals.push({ child: index, parentSpanId: ctx.callerParentSpanId, parentIndex, method: 'header', confidence: 1 });
      }
    });
    return proposals;
  },
};
