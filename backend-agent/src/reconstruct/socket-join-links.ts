/**
 * Socket join: on one host both ends of a TCP connection are seen, so the
 * client span of an exchange and the server span of the same exchange share
 * the 4-tuple reversed (client local = server remote and vice versa). Ports
 * are reused over time, so the two must also overlap in time; on one
 * connection exchanges are sequential (HTTP/1.x, no pipelining), so pairing
 * the k-th client exchange with the server exchange that overlaps it keeps
 * the exchange order. The server span's parent becomes the client span; the
 * difference of their durations is kept as network time.
 */
import type { Endpoint, Span } from '../model/span.js';
import type { LinkLayer, LinkProposal, WorkingSet } from './link-layer.js';
import { baseUs, intervalOf, overlapNs, TIME_TOLERANCE_NS } from './span-time.js';

/** Both ends were seen on one host with one clock: only truncation slack is needed. */
const CONFIDENCE = 0.99;

/** `::ffff:127.0.0.1` and `127.0.0.1` are the same endpoint seen by a dual-stack and a v4 socket. */
function endpointKey(e: Endpoint): string {
  const address = e.address.startsWith('::ffff:') ? e.address.slice(7) : e.address;
  return `${address}:${e.port}`;
}

/** Same key for both sides: host, then the client's endpoint, then the server's. */
export function connectionKey(span: Span): string {
  const { local, remote } = span.network;
  const [clientEnd, serverEnd] = span.kind === 'client' ? [local, remote] : [remote, local];
  return JSON.stringify([span.process.hostName, endpointKey(clientEnd), endpointKey(serverEnd)]);
}

export const socketJoinLinks: LinkLayer = {
  name: 'socket-join',
  propose(ws: WorkingSet): LinkProposal[] {
    const base = baseUs(ws.spans);
    const byKey = new Map<string, { clients: number[]; servers: number[] }>();
    ws.spans.forEach((span, index) => {
      const key = connectionKey(span);
      let entry = byKey.get(key);
      if (!entry) byKey.set(key, (entry = { clients: [], servers: [] }));
      (span.kind === 'client' ? entry.clients : entry.servers).push(index);
    });

    const proposals: LinkProposal[] = [];
    for (const { clients, servers } of byKey.values()) {
      if (clients.length === 0 || servers.length === 0) continue;
      // Indexes are in canonical (start) order already: walk both lists in step.
      let next = 0;
      for (const serverIndex of servers) {
        const server = intervalOf(ws.spans[serverIndex]!, base);
        // Skip client exchanges that ended before this server exchange began.
        while (next < clients.length && intervalOf(ws.spans[clients[next]!]!, base).end + TIME_TOLERANCE_NS < server.start) next++;
        if (next >= clients.length) break;
        const clientIndex = clients[next]!;
        const clientSpan = ws.spans[clientIndex]!;
        const client = intervalOf(clientSpan, base);
        // The server sees the request after the client sent its first byte, and answers before the client reads the last.
        if (overlapNs(client, server) < 0 || server.start + TIME_TOLERANCE_NS < client.start) continue;
        next++;
        if (ws.parentOf(serverIndex) !== undefined) continue;
        proposals.push({
          child: serverIndex,
          parentSpanId: clientSpan.spanId,
          parentIndex: clientIndex,
          method: 'socket-join',
          confidence: CONFIDENCE,
          networkTimeNs: clientSpan.durationNs - ws.spans[serverIndex]!.durationNs,
        });
      }
    }
    return proposals;
  },
};
