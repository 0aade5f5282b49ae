/**
 * Span intervals in nanoseconds relative to a base inside the working set:
 * Unix µs * 1000 exceeds 2^53, relative values stay exact.
 */
import type { Span } from '../model/span.js';

export interface Interval {
  start: number;
  end: number;
  /** When the request was fully sent (client) or received (server). */
  requestEnd: number;
}

/** startTimeUs is truncated to whole µs; comparisons allow that much slack. */
export const TIME_TOLERANCE_NS = 1000;

export function baseUs(spans: readonly Span[]): number {
  return spans.reduce((min, s) => Math.min(min, s.startTimeUs), Infinity);
}

export function intervalOf(span: Span, base: number): Interval {
  const start = (span.startTimeUs - base) * 1000;
  return { start, end: start + span.durationNs, requestEnd: start + span.network.requestTransferNs };
}

/** True when `outer` contains `inner`, within the µs truncation slack. */
export function contains(outer: Interval, inner: Interval): boolean {
  return outer.start - TIME_TOLERANCE_NS <= inner.start && inner.end <= outer.end + TIME_TOLERANCE_NS;
}

/** Length of the overlap of two intervals, ns (negative when apart). */
export function overlapNs(a: Interval, b: Interval): number {
  return Math.min(a.end, b.end) - Math.max(a.start, b.start);
}
