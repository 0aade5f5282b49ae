/**
 * One trace across several nodes, without headers: each agent assembles what
 * its own host saw, and the hop between two hosts is the client span on one
 * agent and the server span on another. The data source is the one place
 * that talks to every agent, so it follows those hops:
 *
 * - a client span whose peer was not seen on its host (`peerLocal` false):
 *   other agents are asked for the server span with the same socket (their
 *   local port is its remote port, their peer is its local endpoint), within
 *   a few seconds to allow for clock skew, and the trace that span belongs to
 *   on that agent is fetched;
 * - a root server span whose caller was not seen: the same, the other way.
 *
 * Then the reconstruction's cross-host join (backend-agent/src/reconstruct/
 * cross-host-join.ts: tuple, position on the connection, bytes, and time once
 * the hosts' clock offset is removed) links the pieces, and every span takes
 * the seed trace's id so Grafana shows one trace. Bounded: a few rounds and a
 * cap on look-ups, so a query never fans out without end.
 */
import type { LinkProposal, WorkingSet } from '../../../backend-agent/src/reconstruct/link-layer';
import { crossHostJoinLinks } from '../../../backend-agent/src/reconstruct/cross-host-join';
import type { AgentRef } from '../agents/agent-settings';
import type { NativeApi, Span } from '../agents/native-api';
import { mergeTraceSpans } from '../frames/trace-frame';

export interface StitchLimits {
  /** How far apart two hosts' clocks may be, µs: the search window around a span. */
  skewUs: number;
  maxRounds: number;
  /** Most socket look-ups per query (each asks every other agent once). */
  maxLookups: number;
}

export const DEFAULT_STITCH_LIMITS: StitchLimits = { skewUs: 2_000_000, maxRounds: 4, maxLookups: 32 };

export interface StitchResult {
  spans: Span[];
  /** Hops followed to another agent, and links made by the cross-host join. */
  lookups: number;
  joined: number;
  /** Agents that failed during look-ups (their part is missing, the rest stands). */
  errors: Error[];
}

const spanKey = (s: Span): string => `${s.spanId}|${s.kind}|${s.process.hostName}|${s.process.pid}`;

/** The tags that find the other end of a span's socket on another host. */
export function otherEndTags(s: Span): { kind: 'client' | 'server'; tags: string } {
  const { local, remote } = s.network;
  // The other end's local port is this span's remote port, its peer is this span's local endpoint.
  return {
    kind: s.kind === 'client' ? 'server' : 'client',
    tags: JSON.stringify({
      'network.local.port': String(remote.port),
      'network.peer.port': String(local.port),
      'network.peer.address': local.address,
    }),
  };
}

function needsOtherEnd(s: Span, spans: readonly Span[]): boolean {
  if (s.peerLocal) return false;
  if (s.kind === 'client') return true;
  // A server span is worth following up only when nothing above it was found.
  return !s.parentSpanId || !spans.some((p) => p.spanId === s.parentSpanId);
}

export async function stitchAcrossAgents(
  seed: ReadonlyArray<{ agent: AgentRef; spans: readonly Span[] }>,
  agents: readonly AgentRef[],
  api: NativeApi,
  limits: StitchLimits = DEFAULT_STITCH_LIMITS,
): Promise<StitchResult> {
  const errors: Error[] = [];
  let spans = mergeTraceSpans(seed.map((s) => s.spans));
  if (agents.length < 2) return { spans, lookups: 0, joined: 0, errors };
  const followed = new Set<string>();
  const fetchedTraces = new Set<string>();
  for (const { agent, spans: list } of seed) for (const s of list) fetchedTraces.add(`${agent.name}|${s.traceId}`);
  let lookups = 0;
  for (let round = 0; round < limits.maxRounds; round++) {
    const todo = spans.filter((s) => !followed.has(spanKey(s)) && needsOtherEnd(s, spans));
    if (todo.length === 0 || lookups >= limits.maxLookups) break;
    const found: Span[][] = [];
    for (const s of todo) {
      if (lookups >= limits.maxLookups) break;
      followed.add(spanKey(s));
      lookups += 1;
      const { kind, tags } = otherEndTags(s);
      const range = { startUs: s.startTimeUs - limits.skewUs, endUs: s.startTimeUs + Math.ceil(s.durationNs / 1000) + limits.skewUs };
      await Promise.all(
        agents.map(async (agent) => {
          try {
            const ends = await api.searchSpans(agent, { kind, tags: [tags], range, limit: 20 });
            for (const end of ends) {
              if (end.process.hostName === s.process.hostName) continue;
              const key = `${agent.name}|${end.traceId}`;
              if (fetchedTraces.has(key)) continue;
              fetchedTraces.add(key);
              found.push(await api.trace(agent, end.traceId));
            }
          } catch (err) {
            errors.push(err instanceof Error ? err : new Error(String(err)));
          }
        }),
      );
    }
    if (found.length === 0) break;
    spans = mergeTraceSpans([spans, ...found]);
  }
  const { spans: joinedSpans, joined } = joinHosts(spans);
  return { spans: joinedSpans, lookups, joined, errors };
}

/** Links servers to their clients across hosts, and names every span after the earliest root's trace. */
export function joinHosts(input: readonly Span[]): { spans: Span[]; joined: number } {
  if (input.length === 0) return { spans: [], joined: 0 };
  const spans = input.map((s) => ({ ...s }));
  const indexById = new Map<string, number>();
  spans.forEach((s, i) => {
    if (!indexById.has(s.spanId)) indexById.set(s.spanId, i);
  });
  const ws: WorkingSet = {
    spans,
    parentOf: (i) => {
      const parent = spans[i]!.parentSpanId;
      return parent && indexById.has(parent) ? parent : undefined;
    },
    indexOfSpanId: (id) => indexById.get(id),
  };
  let joined = 0;
  for (const p of crossHostJoinLinks.propose(ws)) {
    applyLink(spans, p, indexById);
    joined += 1;
  }
  const roots = spans.filter((s) => !s.parentSpanId || !indexById.has(s.parentSpanId));
  const traceId = (roots.length > 0 ? roots : spans).reduce((a, b) => (b.startTimeUs < a.startTimeUs ? b : a)).traceId;
  return { spans: joined > 0 ? spans.map((s) => ({ ...s, traceId })) : spans, joined };
}

function applyLink(spans: Span[], p: LinkProposal, indexById: ReadonlyMap<string, number>): void {
  const child = spans[p.child]!;
  // The exact span the join chose: another trace's span may share its id.
  const parentIndex = p.parentIndex ?? indexById.get(p.parentSpanId);
  const parent = parentIndex === undefined ? undefined : spans[parentIndex];
  spans[p.child] = {
    ...child,
    parentSpanId: p.parentSpanId,
    parentLink: {
      traceId: parent?.traceId ?? child.traceId,
      spanId: p.parentSpanId,
      method: p.method,
      confidence: p.confidence,
      ...(p.alternatives !== undefined ? { alternatives: p.alternatives } : {}),
      ...(p.networkTimeNs !== undefined ? { networkTimeNs: p.networkTimeNs } : {}),
    },
  };
}
