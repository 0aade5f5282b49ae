/**
 * A total order on spans so assembly does not depend on the order spans came
 * out of the store: earlier first, then longer first (an enclosing span before
 * what it encloses), server before client, then ids. The final JSON
 * comparison only breaks ties between spans identical in every key field.
 */
import type { Span } from '../model/span.js';

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const KIND_RANK = { server: 0, client: 1 } as const;

export function compareSpans(a: Span, b: Span): number {
  return (
    a.startTimeUs - b.startTimeUs ||
    b.durationNs - a.durationNs ||
    KIND_RANK[a.kind] - KIND_RANK[b.kind] ||
    compareStrings(a.spanId, b.spanId) ||
    compareStrings(a.service, b.service) ||
    a.process.pid - b.process.pid ||
    compareStrings(a.network.connectionId, b.network.connectionId) ||
    a.network.exchangeIndex - b.network.exchangeIndex ||
    compareStrings(JSON.stringify(a), JSON.stringify(b))
  );
}

/** A sorted copy; Array.prototype.sort is stable, and the order is total anyway. */
export function canonicalOrder(spans: readonly Span[]): Span[] {
  return [...spans].sort(compareSpans);
}
