/**
 * Merging one edge's statistics from several agents. Counts add up. Exact
 * percentiles cannot be merged from percentiles, so the merged p50/p95/p99
 * are the largest any agent reported: an upper bound, exact when one agent
 * saw the edge (the usual case: a call is counted on the caller's node).
 */
import type { DependencyStats } from '../agents/native-api';

type Latency = NonNullable<DependencyStats['client']>;

export function mergeLatency(a: Latency | undefined, b: Latency | undefined): Latency | undefined {
  if (!a) return b;
  if (!b) return a;
  return { count: a.count + b.count, p50Ns: Math.max(a.p50Ns, b.p50Ns), p95Ns: Math.max(a.p95Ns, b.p95Ns), p99Ns: Math.max(a.p99Ns, b.p99Ns) };
}

export function edgeKey(parent: string, child: string): string {
  return JSON.stringify([parent, child]);
}

export function mergeDependencies(perAgent: ReadonlyArray<readonly DependencyStats[]>): DependencyStats[] {
  const byEdge = new Map<string, DependencyStats>();
  for (const edges of perAgent) {
    for (const e of edges) {
      const key = edgeKey(e.parent, e.child);
      const seen = byEdge.get(key);
      if (!seen) {
        byEdge.set(key, { ...e });
        continue;
      }
      seen.callCount += e.callCount;
      seen.errorCount += e.errorCount;
      seen.requestBytes = (seen.requestBytes ?? 0) + (e.requestBytes ?? 0);
      seen.responseBytes = (seen.responseBytes ?? 0) + (e.responseBytes ?? 0);
      const client = mergeLatency(seen.client, e.client);
      const server = mergeLatency(seen.server, e.server);
      if (client) seen.client = client;
      if (server) seen.server = server;
      // Like the percentiles it comes from: an upper bound once merged.
      if (e.networkTimeNs !== undefined) seen.networkTimeNs = Math.max(seen.networkTimeNs ?? 0, e.networkTimeNs);
      const protocols = mergeProtocols(seen.protocol, e.protocol);
      if (protocols) seen.protocol = protocols;
    }
  }
  return [...byEdge.values()].sort((a, b) => (a.parent === b.parent ? a.child.localeCompare(b.child) : a.parent.localeCompare(b.parent)));
}

/** Union of two agents' comma-separated protocol lists, sorted. */
export function mergeProtocols(a: string | undefined, b: string | undefined): string | undefined {
  const all = new Set([...(a ? a.split(', ') : []), ...(b ? b.split(', ') : [])]);
  return all.size > 0 ? [...all].sort().join(', ') : undefined;
}

/** The caller's view of the latency when it was seen, else the callee's. */
export function edgeLatency(e: Pick<DependencyStats, 'client' | 'server'>): Latency | undefined {
  return e.client ?? e.server;
}
