/**
 * Cross-host join: the client span of an exchange seen by the agent on one
 * host and the server span of the same exchange seen by the agent on another,
 * when a query merges what several agents saw (the data source's fan-out).
 *
 * The two ends agree on the 4-tuple (client endpoint, server endpoint: no NAT
 * in between) but not on time: each host has its own clock, tens of
 * milliseconds apart is common. So time is the last signal, not the first:
 * - the 4-tuple, which both ends report alike;
 * - the exchange's position on its connection, which both ends count alike
 *   when both saw the connection from its start;
 * - the bytes of the request and of the response, which are the same on both
 *   ends of one TCP stream whatever the clocks say;
 * - time, after removing the clock offset between the two hosts. The offset is
 *   estimated from the exchanges the other signals already pair: in true time
 *   the server's interval lies inside the client's, so the difference of their
 *   midpoints is the offset to within half the network time. The median over
 *   many pairs is robust to a few wrong ones.
 * Network time (client-observed minus server-observed duration) needs no
 * clock at all: each duration is measured on one host.
 */
import type { Endpoint, Span } from '../model/span.js';
import type { LinkLayer, LinkProposal, WorkingSet } from './link-layer.js';

/** Pairs agreeing on tuple, position and bytes, with a plausible time after the offset. */
const CONFIDENCE_FULL = 0.95;
/** Pairs agreeing on tuple and time, but not on position or bytes (a side joined mid-connection). */
const CONFIDENCE_TIME_ONLY = 0.7;
/** Slack on the offset estimate and on durations measured by two kernels, ns. */
const OFFSET_SLACK_NS = 2_000_000;
/** Clock offsets beyond this are not believed: a port reused minutes apart, not a skewed clock. */
export const MAX_CLOCK_OFFSET_NS = 5_000_000_000;

function endpointKey(e: Endpoint): string {
  const address = e.address.startsWith('::ffff:') ? e.address.slice(7) : e.address;
  return `${address}:${e.port}`;
}

/** The same for both ends of one connection, whichever host saw it. */
function tupleKey(span: Span): string {
  const { local, remote } = span.network;
  const [clientEnd, serverEnd] = span.kind === 'client' ? [local, remote] : [remote, local];
  return `${endpointKey(clientEnd)}>${endpointKey(serverEnd)}`;
}

interface Candidate {
  client: number;
  server: number;
  /** Server midpoint minus client midpoint, ns, in each host's own clock. */
  offsetNs: number;
  /** Half the room the server's interval has inside the client's, ns. */
  slackNs: number;
  positionAndBytesAgree: boolean;
}

function midpointDifferenceNs(client: Span, server: Span): number {
  // Relative µs first: Unix µs * 1000 is past 2^53.
  const startDiffNs = (server.startTimeUs - client.startTimeUs) * 1000;
  return startDiffNs + server.durationNs / 2 - client.durationNs / 2;
}

function agreeOnPositionAndBytes(client: Span, server: Span): boolean {
  return (
    client.network.exchangeIndex === server.network.exchangeIndex &&
    client.network.requestBytes === server.network.requestBytes &&
    client.network.responseBytes === server.network.responseBytes
  );
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Clock offset of the server host relative to the client host, ns, per host pair. */
export function estimateClockOffsets(spans: readonly Span[], candidates: readonly Candidate[]): Map<string, number> {
  const samples = new Map<string, number[]>();
  for (const c of candidates) {
    if (!c.positionAndBytesAgree) continue;
    const key = hostPairKey(spans[c.client]!, spans[c.server]!);
    const list = samples.get(key) ?? [];
    list.push(c.offsetNs);
    samples.set(key, list);
  }
  const out = new Map<string, number>();
  for (const [key, list] of samples) out.set(key, median(list));
  return out;
}

function hostPairKey(client: Span, server: Span): string {
  return JSON.stringify([client.process.hostName, server.process.hostName]);
}

function candidatesOf(ws: WorkingSet): Candidate[] {
  const byTuple = new Map<string, { clients: number[]; servers: number[] }>();
  ws.spans.forEach((span, index) => {
    const key = tupleKey(span);
    let entry = byTuple.get(key);
    if (!entry) byTuple.set(key, (entry = { clients: [], servers: [] }));
    (span.kind === 'client' ? entry.clients : entry.servers).push(index);
  });
  const out: Candidate[] = [];
  for (const { clients, servers } of byTuple.values()) {
    for (const s of servers) {
      const server = ws.spans[s]!;
      for (const c of clients) {
        const client = ws.spans[c]!;
        // Same host: the socket join's (exact clock) business.
        if (client.process.hostName === server.process.hostName) continue;
        // The client waits for the whole server side, plus the wire: never shorter.
        if (client.durationNs + OFFSET_SLACK_NS < server.durationNs) continue;
        const offsetNs = midpointDifferenceNs(client, server);
        if (Math.abs(offsetNs) > MAX_CLOCK_OFFSET_NS) continue;
        out.push({
          client: c,
          server: s,
          offsetNs,
          slackNs: Math.max(0, client.durationNs - server.durationNs) / 2,
          positionAndBytesAgree: agreeOnPositionAndBytes(client, server),
        });
      }
    }
  }
  return out;
}

export const crossHostJoinLinks: LinkLayer = {
  name: 'cross-host-join',
  propose(ws: WorkingSet): LinkProposal[] {
    const candidates = candidatesOf(ws);
    if (candidates.length === 0) return [];
    const offsets = estimateClockOffsets(ws.spans, candidates);
    // A candidate fits when, once the hosts' offset is removed, the server's
    // interval sits inside the client's (within the estimate's slack).
    const fitting = candidates
      .filter((c) => {
        const offset = offsets.get(hostPairKey(ws.spans[c.client]!, ws.spans[c.server]!));
        if (offset === undefined) return false;
        return Math.abs(c.offsetNs - offset) <= c.slackNs + OFFSET_SLACK_NS;
      })
      // Strongest evidence first, then the closest fit; indexes make ties deterministic.
      .sort(
        (a, b) =>
          Number(b.positionAndBytesAgree) - Number(a.positionAndBytesAgree) ||
          residual(a, ws, offsets) - residual(b, ws, offsets) ||
          a.server - b.server ||
          a.client - b.client,
      );
    // One client exchange has one server exchange and vice versa.
    const usedClients = new Set<number>();
    const usedServers = new Set<number>();
    const alternatives = new Map<number, number>();
    for (const c of fitting) alternatives.set(c.server, (alternatives.get(c.server) ?? 0) + 1);
    const proposals: LinkProposal[] = [];
    for (const c of fitting) {
      if (usedClients.has(c.client) || usedServers.has(c.server)) continue;
      usedClients.add(c.client);
      usedServers.add(c.server);
      if (ws.parentOf(c.server) !== undefined) continue;
      const client = ws.spans[c.client]!;
      const others = (alternatives.get(c.server) ?? 1) - 1;
      proposals.push({
        child: c.server,
        parentSpanId: client.spanId,
        parentIndex: c.client,
        method: 'socket-join',
        confidence: c.positionAndBytesAgree ? CONFIDENCE_FULL : CONFIDENCE_TIME_ONLY,
        ...(others > 0 ? { alternatives: others } : {}),
        networkTimeNs: client.durationNs - ws.spans[c.server]!.durationNs,
      });
    }
    return proposals;
  },
};

function residual(c: Candidate, ws: WorkingSet, offsets: Map<string, number>): number {
  const offset = offsets.get(hostPairKey(ws.spans[c.client]!, ws.spans[c.server]!)) ?? 0;
  return Math.abs(c.offsetNs - offset);
}
