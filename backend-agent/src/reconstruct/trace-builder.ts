/**
 * Query-time trace building: the spans stored under one trace id are only a
 * seed. Header-less hops were stored under ids of their own, so the builder
 * fetches the spans around the seed in time (an indexed range, never the whole
 * store), assembles them all (so competing requests are weighed against each
 * other), and returns the tree the seed belongs to. The window then moves to
 * that tree's own extent and the step repeats until the tree stops changing,
 * so asking for any span of a tree converges on the same window and the same
 * answer.
 */
import type { Span } from '../model/span.js';
import { assembleTrace } from './assemble.js';
import type { LinkLayer } from './link-layer.js';
import { traceComponents, type TraceTree } from './trace-components.js';

export interface CandidateSource {
  getTraces(traceIds: readonly string[]): Map<string, Span[]>;
  spansStartingBetween(startUs: number, endUs: number, limit: number): Span[];
  /**
   * Spans of these traces starting outside [startUs, endUs] (the store's
   * bounds rounding). Optional: without it, header traces are read whole.
   */
  spansOfTracesOutside?(traceIds: readonly string[], startUs: number, endUs: number): Span[];
  /**
   * spansStartingBetween for one build, reading only what earlier windows
   * did not (the same spans, in any order). Optional.
   */
  windowReader?(): { read(startUs: number, endUs: number, limit: number): Span[] };
}

type ReadWindow = (startUs: number, endUs: number, limit: number) => Span[];

function windowReads(source: CandidateSource): ReadWindow {
  const reader = source.windowReader?.();
  return reader ? (a, b, limit) => reader.read(a, b, limit) : (a, b, limit) => source.spansStartingBetween(a, b, limit);
}

export interface BuildOptions {
  /** How far before a tree's first span a parent may start, µs. */
  lookbackUs: number;
  /** How far after a tree's last span ends a joined span may start, µs. */
  lookaheadUs: number;
  /** Most candidate spans read per round. */
  maxCandidates: number;
  maxRounds: number;
  /** Link layers (default: assembleTrace's DEFAULT_LAYERS). */
  layers?: readonly LinkLayer[];
}

export const DEFAULT_BUILD_OPTIONS: BuildOptions = {
  // A parent that began more than this before the rest of its tree is not
  // found: a bound on the cost of a query (the window's spans are all assembled).
  lookbackUs: 300_000,
  lookaheadUs: 10_000,
  maxCandidates: 20_000,
  maxRounds: 6,
};

export interface BuiltTrace {
  traceId: string;
  spans: Span[];
  /** Stored trace ids of the tree's spans: a query for any of them gives this tree. */
  memberTraceIds: string[];
}

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

/** `seed`: every stored span of the trace ids asked for. */
function candidatesAround(source: CandidateSource, readWindow: ReadWindow, seed: readonly Span[], window: { startUs: number; endUs: number }, o: BuildOptions): Span[] {
  const byIdentity = new Map<string, Span>();
  for (const s of seed) byIdentity.set(identity(s), s);
  const startUs = window.startUs - o.lookbackUs;
  const endUs = window.endUs + o.lookaheadUs;
  const inWindow = readWindow(startUs, endUs, o.maxCandidates);
  for (const s of inWindow) byIdentity.set(identity(s), s);
  // Spans of header traces seen in the window come whole: the header already grouped them.
  // The seed holds every span of its own trace ids already (read whole): those are not read again.
  const seedTraces = new Set(seed.map((s) => s.traceId));
  const headerTraces = new Set<string>();
  for (const s of byIdentity.values()) if (s.traceIdSource !== 'none' && !seedTraces.has(s.traceId)) headerTraces.add(s.traceId);
  if (headerTraces.size === 0) return [...byIdentity.values()];
  // A window read that was not cut short holds every span of those traces
  // inside it (the same rows a whole-trace read returns, as identity is the
  // store's key), so only the rest is read: most of a lookup's cost is decoding.
  const rest =
    source.spansOfTracesOutside && inWindow.length < o.maxCandidates
      ? source.spansOfTracesOutside([...headerTraces], startUs, endUs)
      : [...source.getTraces([...headerTraces]).values()].flat();
  for (const s of rest) byIdentity.set(identity(s), s);
  // assembleTrace orders canonically (a total order), so the order of candidates does not matter.
  return [...byIdentity.values()];
}

interface Round {
  built: BuiltTrace;
  /** Identities of the tree's stored spans: the round's answer, compared between rounds. */
  key: string;
  /** The tree's extent: the next round's window. */
  extent: { startUs: number; endUs: number };
}

/** One round of buildTrace: the seed's tree among everything in the window; undefined when the seed is in none. */
function buildRound(
  source: CandidateSource,
  readWindow: ReadWindow,
  seed: readonly Span[],
  seedKeys: ReadonlySet<string>,
  window: { startUs: number; endUs: number },
  o: BuildOptions,
): Round | undefined {
  // assembleTrace keeps stored trace and span ids; only traceComponents renames.
  const assembled = assembleTrace(candidatesAround(source, readWindow, seed, window, o), o.layers);
  const tree: TraceTree | undefined = traceComponents(assembled).find((t) => t.members.some((i) => seedKeys.has(identity(assembled[i]!))));
  if (!tree) return undefined;
  const stored = tree.members.map((i) => assembled[i]!);
  return {
    built: { traceId: tree.traceId, spans: tree.spans, memberTraceIds: [...new Set(stored.map((s) => s.traceId))] },
    key: stored.map(identity).join(','),
    extent: extentUs(stored),
  };
}

export function buildTrace(source: CandidateSource, traceId: string, options: BuildOptions = DEFAULT_BUILD_OPTIONS): BuiltTrace | undefined {
  const seed = source.getTraces([traceId]).get(traceId) ?? [];
  if (seed.length === 0) return undefined;
  const seedKeys = new Set(seed.map(identity));
  let window = extentUs(seed);
  let previousKey = '';
  let result: BuiltTrace | undefined;
  // A round depends only on its window: one whose window was seen before
  // (usually the last round's, as the tree's extent stopped moving) gives the
  // same tree again, so it is not read and assembled a second time.
  const rounds = new Map<string, Round | undefined>();
  const readWindow = windowReads(source);
  for (let round = 0; round < options.maxRounds; round++) {
    const windowKey = `${window.startUs}|${window.endUs}`;
    let r = rounds.get(windowKey);
    if (!rounds.has(windowKey)) rounds.set(windowKey, (r = buildRound(source, readWindow, seed, seedKeys, window, options)));
    if (!r) return undefined;
    result = r.built;
    if (r.key === previousKey) break;
    previousKey = r.key;
    window = r.extent;
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
export function buildTraces(source: CandidateSource, traceIds: readonly string[], options: BuildOptions = DEFAULT_BUILD_OPTIONS): BuiltTrace[] {
  const unique = [...new Set(traceIds)];
  const seeds = source.getTraces(unique);
  const ordered = unique
    .filter((id) => (seeds.get(id)?.length ?? 0) > 0)
    .map((id) => ({ id, extent: extentUs(seeds.get(id)!) }))
    .sort((a, b) => a.extent.startUs - b.extent.startUs || (a.id < b.id ? -1 : 1));

  const treeOfSeed = new Map<string, BuiltTrace>();
  // Neighbouring clusters' windows can overlap (look-back, long seeds): the overlap is read once.
  const readWindow = windowReads(source);
  for (let i = 0; i < ordered.length; ) {
    let j = i;
    let endUs = ordered[i]!.extent.endUs;
    while (j + 1 < ordered.length && ordered[j + 1]!.extent.startUs - ordered[i]!.extent.startUs <= MAX_CLUSTER_US) {
      j++;
      endUs = Math.max(endUs, ordered[j]!.extent.endUs);
    }
    const cluster = ordered.slice(i, j + 1);
    const clusterSeeds = cluster.flatMap((c) => seeds.get(c.id)!);
    const assembled = assembleTrace(candidatesAround(source, readWindow, clusterSeeds, { startUs: ordered[i]!.extent.startUs, endUs }, options), options.layers);
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
