/**
 * In-process containment: a service that makes an outbound call while
 * handling a request does so inside that request's time interval, from the
 * same process. So a client span with no parent gets as parent the server
 * span of the same process (host + pid) and trace whose interval contains it,
 * choosing the tightest (the innermost request) and, on equal tightness, the
 * one served on the same thread.
 *
 * Confidence: same thread is strong evidence on thread-per-request servers
 * (0.9); containment alone is weaker (0.7). When several server spans of the
 * process contain the call (concurrent requests), the pick may be wrong, so
 * both drop by 0.2.
 */
import type { Span } from '../model/span.js';
import type { LinkLayer, LinkProposal, WorkingSet } from './link-layer.js';

/** startTimeUs is truncated to whole µs; allow that much slack at both ends. */
const TOLERANCE_NS = 1000;
const CONFIDENCE_THREAD = 0.9;
const CONFIDENCE_TIMING = 0.7;
const AMBIGUITY_PENALTY = 0.2;

function processKey(span: Span): string {
  return JSON.stringify([span.process.hostName, span.process.pid]);
}

/**
 * Start and end in ns relative to a base inside the trace: Unix µs * 1000
 * exceeds 2^53, relative values stay exact.
 */
function intervalNs(span: Span, baseUs: number): { start: number; end: number } {
  const start = (span.startTimeUs - baseUs) * 1000;
  return { start, end: start + span.durationNs };
}

export const containmentLinks: LinkLayer = {
  name: 'containment',
  propose(ws: WorkingSet): LinkProposal[] {
    if (ws.spans.length === 0) return [];
    const baseUs = ws.spans.reduce((min, s) => Math.min(min, s.startTimeUs), Infinity);
    const serversByProcess = new Map<string, number[]>();
    ws.spans.forEach((span, index) => {
      if (span.kind !== 'server') return;
      const key = processKey(span);
      const list = serversByProcess.get(key) ?? [];
      list.push(index);
      serversByProcess.set(key, list);
    });

    const proposals: LinkProposal[] = [];
    ws.spans.forEach((client, index) => {
      if (client.kind !== 'client' || ws.parentOf(index) !== undefined) return;
      const inner = intervalNs(client, baseUs);
      const containing = (serversByProcess.get(processKey(client)) ?? []).filter((serverIndex) => {
        const server = ws.spans[serverIndex]!;
        if (server.traceId !== client.traceId || server.spanId === client.spanId) return false;
        const outer = intervalNs(server, baseUs);
        return outer.start - TOLERANCE_NS <= inner.start && inner.end <= outer.end + TOLERANCE_NS;
      });
      if (containing.length === 0) return;
      const sameThread = (i: number) => ws.spans[i]!.threadId === client.threadId;
      // Tightest first, then same thread, then canonical order (deterministic).
      containing.sort(
        (a, b) =>
          ws.spans[a]!.durationNs - ws.spans[b]!.durationNs || Number(sameThread(b)) - Number(sameThread(a)) || a - b,
      );
      const parentIndex = containing[0]!;
      const thread = sameThread(parentIndex);
      const base = thread ? CONFIDENCE_THREAD : CONFIDENCE_TIMING;
      proposals.push({
        child: index,
        parentSpanId: ws.spans[parentIndex]!.spanId,
        method: thread ? 'thread' : 'timing',
        confidence: containing.length > 1 ? base - AMBIGUITY_PENALTY : base,
      });
    });
    return proposals;
  },
};
