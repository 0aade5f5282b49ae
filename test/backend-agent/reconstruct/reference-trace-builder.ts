/**
 * The trace builder as it was before its lookups were optimised (session 3):
 * every round read again, and header traces were read whole. Kept for
 * trace-builder-equivalence.test.ts, which checks that the optimised builder
 * gives exactly these answers.
 */
import type { Span } from '../../../backend-agent/src/model/span.js';
import { assembleTrace } from '../../../backend-agent/src/reconstruct/assemble.js';
import { traceComponents, type TraceTree } from '../../../backend-agent/src/reconstruct/trace-components.js';
import { DEFAULT_BUILD_OPTIONS, type BuildOptions, type BuiltTrace, type CandidateSource } from '../../../backend-agent/src/reconstruct/trace-builder.js';

/** The store's identity of a span (schema v3): ids, side and the process that saw it. */
function identity(s: Span): string {
  return `${s.traceId}|${s.spanId}|${s.kind}|${s.process.hostName}|${s.process.pid}`;
}

function extentUs(spans: readonly Span[]): { startUs: number; endUs: number } {
  let startUs = Infinity;
  let endUs = -Infinity;
  for (const s of spans) {
    startUs = Math.min(startUs, s.startTimeUs);
    endUs = Math.max(endUs, s.startTimeUs + Math.ceil(s.durationNs / 1000));
  }
  return { startUs, endUs };
}

function candidatesAround(source: CandidateSource, seed: readonly Span[], window: { startUs: number; endUs: number }, o: BuildOptions): Span[] {
  const byIdentity = new Map<string, Span>();
  for (const s of seed) byIdentity.set(identity(s), s);
  for (const s of source.spansStartingBetween(window.startUs - o.lookbackUs, window.endUs + o.lookaheadUs, o.maxCandidates)) {
    byIdentity.set(identity(s), s);
  }
  // Spans of header traces seen in the window come whole: the header already grouped them.
  const headerTraces = [...new Set([...byIdentity.values()].filter((s) => s.traceIdSource !== 'none').map((s) => s.traceId))].sort();
  for (const spans of source.getTraces(headerTraces).values()) for (const s of spans) byIdentity.set(identity(s), s);
  return [...byIdentity.values()];
}

export function referenceBuildTrace(source: CandidateSource, traceId: string, options: BuildOptions = DEFAULT_BUILD_OPTIONS): BuiltTrace | undefined {
  const seed = source.getTraces([traceId]).get(traceId) ?? [];
  if (seed.length === 0) return undefined;
  const seedKeys = new Set(seed.map(identity));
  let window = extentUs(seed);
  let previousKey = '';
  let result: BuiltTrace | undefined;
  for (let round = 0; round < options.maxRounds; round++) {
    // assembleTrace keeps stored trace and span ids; only traceComponents renames.
    const assembled = assembleTrace(candidatesAround(source, seed, window, options), options.layers);
    const tree: TraceTree | undefined = traceComponents(assembled).find((t) => t.members.some((i) => seedKeys.has(identity(assembled[i]!))));
    if (!tree) return undefined;
    const stored = tree.members.map((i) => assembled[i]!);
    result = { traceId: tree.traceId, spans: tree.spans, memberTraceIds: [...new Set(stored.map((s) => s.traceId))] };
    const key = stored.map(identity).join(',');
    if (key === previousKey) break;
    previousKey = key;
    window = extentUs(stored);
  }
  return result;
}

/** Longest stretch of time whose seeds are assembled together by buildTraces, µs. */
const MAX_CLUSTER_US = 2_000_000;

/**
 * Trees for several stored trace ids (a search's hits), in the order asked,
 * each tree once. Seeds close in time are assembled together in one window,
 * so a search costs one assembly per stretch of time instead of one per hit.
 */
export function referenceBuildTraces(source: CandidateSource, traceIds: readonly string[], options: BuildOptions = DEFAULT_BUILD_OPTIONS): BuiltTrace[] {
  const unique = [...new Set(traceIds)];
  const seeds = source.getTraces(unique);
  const ordered = unique
    .filter((id) => (seeds.get(id)?.length ?? 0) > 0)
    .map((id) => ({ id, extent: extentUs(seeds.get(id)!) }))
    .sort((a, b) => a.extent.startUs - b.extent.startUs || (a.id < b.id ? -1 : 1));

  const treeOfSeed = new Map<string, BuiltTrace>();
  for (let i = 0; i < ordered.length; ) {
    let j = i;
    let endUs = ordered[i]!.extent.endUs;
    while (j + 1 < ordered.length && ordered[j + 1]!.extent.startUs - ordered[i]!.extent.startUs <= MAX_CLUSTER_US) {
      j++;
      endUs = Math.max(endUs, ordered[j]!.extent.endUs);
    }
    const cluster = ordered.slice(i, j + 1);
    const clusterSeeds = cluster.flatMap((c) => seeds.get(c.id)!);
    const assembled = assembleTrace(candidatesAround(source, clusterSeeds, { startUs: ordered[i]!.extent.startUs, endUs }, options), options.layers);
    const treeByIdentity = new Map<string, BuiltTrace>();
    for (const tree of traceComponents(assembled)) {
      const stored = tree.members.map((m) => assembled[m]!);
      const built: BuiltTrace = { traceId: tree.traceId, spans: tree.spans, memberTraceIds: [...new Set(stored.map((s) => s.traceId))] };
      for (const s of stored) treeByIdentity.set(identity(s), built);
    }
    for (const c of cluster) {
      const built = treeByIdentity.get(identity(seeds.get(c.id)![0]!));
      if (built) treeOfSeed.set(c.id, built);
    }
    i = j + 1;
  }

  const out: BuiltTrace[] = [];
  const emitted = new Set<string>();
  for (const id of traceIds) {
    const built = treeOfSeed.get(id);
    if (!built || emitted.has(built.traceId)) continue;
    emitted.add(built.traceId);
    out.push(built);
  }
  return out;
}
