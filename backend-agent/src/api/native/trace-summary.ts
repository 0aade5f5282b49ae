/** A one-line description of an assembled trace, for trace lists. */
import type { Span } from '../../model/span.js';

export interface TraceSummary {
  traceId: string;
  /** The earliest span with no parent inside the trace. */
  rootService: string;
  rootName: string;
  /** Unix µs of the earliest span. */
  startTimeUs: number;
  /** From the earliest start to the latest end, ns. */
  durationNs: number;
  spanCount: number;
  errorCount: number;
  /** Services that observed a span of the trace, sorted. */
  services: string[];
}

/** `spans` must be non-empty and assembled (canonical order: earliest first). */
export function summarizeTrace(traceId: string, spans: readonly Span[]): TraceSummary {
  const ids = new Set(spans.map((s) => s.spanId));
  const root = spans.find((s) => !s.parentSpanId || !ids.has(s.parentSpanId)) ?? spans[0]!;
  const startUs = spans.reduce((min, s) => Math.min(min, s.startTimeUs), Infinity);
  // Relative ns: absolute Unix ns would exceed 2^53.
  const endNs = spans.reduce((max, s) => Math.max(max, (s.startTimeUs - startUs) * 1000 + s.durationNs), 0);
  return {
    traceId,
    rootService: root.service,
    rootName: root.name,
    startTimeUs: startUs,
    durationNs: endNs,
    spanCount: spans.length,
    errorCount: spans.filter((s) => s.status === 'error').length,
    services: [...new Set(spans.map((s) => s.service))].sort(),
  };
}
