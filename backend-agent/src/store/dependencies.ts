/**
 * Service-graph aggregation. Each call is counted once:
 *  - a client span is the call as the caller saw it: service -> peerService;
 *  - a server span whose peer is not local had no client span on this host
 *    (the caller runs elsewhere): peerService -> service.
 * Server spans with a local peer are the other half of an already counted
 * client span; they still contribute their latency to the edge's server side.
 */
import type { DependencyEdge, SpanKind, SpanStatus } from '../model/span.js';

/** The columns of one span the aggregation needs. */
export interface DependencySample {
  kind: SpanKind;
  service: string;
  peerService: string;
  peerLocal: boolean;
  status: SpanStatus;
  durationNs: number;
  /** Bytes on the wire, as this side moved them (0 when unknown). */
  requestBytes?: number;
  responseBytes?: number;
}

export interface LatencySummary {
  /** Number of spans the percentiles were computed from. */
  count: number;
  p50Ns: number;
  p95Ns: number;
  p99Ns: number;
}

export interface DependencyStats extends DependencyEdge {
  /** Latency as the caller measured it (client spans), when the caller was seen. */
  client?: LatencySummary;
  /** Latency as the callee measured it (server spans), when the callee was seen. */
  server?: LatencySummary;
  /** Request and response bytes of the counted calls. */
  requestBytes: number;
  responseBytes: number;
  /**
   * Median client latency minus median server latency, when both sides were
   * seen: the time the network (and the kernels' queues) added to the call.
   */
  networkTimeNs?: number;
  /** Application protocols the edge's calls used (`http/1.1`, `grpc`, `postgresql`...), comma-separated, sorted. */
  protocol?: string;
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sortedAsc: readonly number[], p: number): number {
  if (sortedAsc.length === 0) return 0;
  const rank = Math.ceil((p / 100) * sortedAsc.length);
  return sortedAsc[Math.min(sortedAsc.length, Math.max(1, rank)) - 1]!;
}

function summarize(durations: number[]): LatencySummary | undefined {
  if (durations.length === 0) return undefined;
  const sorted = [...durations].sort((a, b) => a - b);
  return { count: sorted.length, p50Ns: percentile(sorted, 50), p95Ns: percentile(sorted, 95), p99Ns: percentile(sorted, 99) };
}

/** The (parent, child) edge a span belongs to, from the caller's point of view. */
function edgeOf(s: DependencySample): { parent: string; child: string } {
  return s.kind === 'client' ? { parent: s.service, child: s.peerService } : { parent: s.peerService, child: s.service };
}

/** Whether this span is the one that counts the call (see module comment). */
export function countsCall(s: Pick<DependencySample, 'kind' | 'peerLocal'>): boolean {
  return s.kind === 'client' || !s.peerLocal;
}

function compareEdges(a: DependencyEdge, b: DependencyEdge): number {
  if (a.parent !== b.parent) return a.parent < b.parent ? -1 : 1;
  if (a.child !== b.child) return a.child < b.child ? -1 : 1;
  return 0;
}

export function aggregateDependencies(samples: Iterable<DependencySample>): DependencyStats[] {
  interface Acc {
    edge: DependencyEdge;
    client: number[];
    server: number[];
    requestBytes: number;
    responseBytes: number;
  }
  const byEdge = new Map<string, Acc>();
  for (const s of samples) {
    const { parent, child } = edgeOf(s);
    // JSON of the pair cannot collide the way "a|b" could with '|' in names.
    const key = JSON.stringify([parent, child]);
    let acc = byEdge.get(key);
    if (!acc) {
      acc = { edge: { parent, child, callCount: 0, errorCount: 0 }, client: [], server: [], requestBytes: 0, responseBytes: 0 };
      byEdge.set(key, acc);
    }
    if (countsCall(s)) {
      acc.edge.callCount += 1;
      if (s.status === 'error') acc.edge.errorCount += 1;
      acc.requestBytes += s.requestBytes ?? 0;
      acc.responseBytes += s.responseBytes ?? 0;
    }
    (s.kind === 'client' ? acc.client : acc.server).push(s.durationNs);
  }
  const out: DependencyStats[] = [];
  for (const acc of byEdge.values()) {
    // An edge made only of local-peer server spans would have no counted call:
    // that cannot happen when both halves are stored, but retention can split them.
    if (acc.edge.callCount === 0) continue;
    const stats: DependencyStats = { ...acc.edge, requestBytes: acc.requestBytes, responseBytes: acc.responseBytes };
    const client = summarize(acc.client);
    const server = summarize(acc.server);
    if (client) stats.client = client;
    if (server) stats.server = server;
    if (client && server) stats.networkTimeNs = Math.max(0, client.p50Ns - server.p50Ns);
    out.push(stats);
  }
  return out.sort(compareEdges);
}
