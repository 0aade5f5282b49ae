/**
 * The service graph over a time range from the per-minute rollup
 * (`edge_minutes`, schema v6, kept by catalog.ts) for the whole minutes
 * inside the range, and from the spans themselves for the partial minutes at
 * either end: an hour reads ~60 rollup rows per edge instead of every span.
 *
 * Counts, errors and bytes are always exact (equal to a scan of every span in
 * the range). Latency percentiles are exact when the range holds at most
 * EXACT_MAX_SPANS spans (computed from the spans, as before); above that they
 * come from the rollup's histograms, within 1% (latency-histogram.ts). Edge
 * time series over such ranges, with a step of whole minutes, have buckets
 * aligned to whole minutes (the first starts at the range start).
 */
import type Database from 'better-sqlite3';
import type { DependencyEdge } from '../model/span.js';
import { countsCall, type DependencyStats } from './dependencies.js';
import type { EdgeSeries, TimedDependencySample } from './edge-timeseries.js';
import { LatencyHistogram } from './latency-histogram.js';

/** Up to this many spans in a range, latency percentiles are computed exactly from the spans. */
export const EXACT_MAX_SPANS = 20_000;

/** The columns of one span the service graph needs (sqlite-store.ts streams them). */
type RawSample = TimedDependencySample;

interface RollupRow {
  minute: number;
  parent: string;
  child: string;
  calls: number;
  errors: number;
  request_bytes: number;
  response_bytes: number;
  client_hist: string;
  server_hist: string;
}

/** One edge's totals with latency histograms. */
class EdgeAcc {
  calls = 0;
  errors = 0;
  requestBytes = 0;
  responseBytes = 0;
  readonly client = new LatencyHistogram();
  readonly server = new LatencyHistogram();
  constructor(
    readonly parent: string,
    readonly child: string,
  ) {}

  addRow(r: RollupRow): void {
    this.calls += r.calls;
    this.errors += r.errors;
    this.requestBytes += r.request_bytes;
    this.responseBytes += r.response_bytes;
    this.client.merge(LatencyHistogram.decode(r.client_hist));
    this.server.merge(LatencyHistogram.decode(r.server_hist));
  }

  addSample(s: RawSample): void {
    (s.kind === 'client' ? this.client : this.server).add(s.durationNs);
    if (!countsCall(s)) return;
    this.calls += 1;
    if (s.status === 'error') this.errors += 1;
    this.requestBytes += s.requestBytes ?? 0;
    this.responseBytes += s.responseBytes ?? 0;
  }

  stats(): DependencyStats {
    const out: DependencyStats = {
      parent: this.parent,
      child: this.child,
      callCount: this.calls,
      errorCount: this.errors,
      requestBytes: this.requestBytes,
      responseBytes: this.responseBytes,
    };
    const client = this.client.summary();
    const server = this.server.summary();
    if (client) out.client = client;
    if (server) out.server = server;
    if (client && server) out.networkTimeNs = Math.max(0, client.p50Ns - server.p50Ns);
    return out;
  }
}

class EdgeAccs {
  private readonly byKey = new Map<string, EdgeAcc>();
  get(parent: string, child: string): EdgeAcc {
    const key = `${parent.length}:${parent}${child}`;
    let acc = this.byKey.get(key);
    if (!acc) this.byKey.set(key, (acc = new EdgeAcc(parent, child)));
    return acc;
  }
  addSample(s: RawSample): void {
    const client = s.kind === 'client';
    this.get(client ? s.service : s.peerService, client ? s.peerService : s.service).addSample(s);
  }
  /** Edges with at least one counted call, sorted (as aggregateDependencies returns them). */
  stats(): DependencyStats[] {
    return [...this.byKey.values()].filter((a) => a.calls > 0).map((a) => a.stats()).sort(compareEdges);
  }
}

function compareEdges(a: { parent: string; child: string }, b: { parent: string; child: string }): number {
  if (a.parent !== b.parent) return a.parent < b.parent ? -1 : 1;
  return a.child < b.child ? -1 : a.child > b.child ? 1 : 0;
}

const MINUTE_US = 60_000_000;

interface EdgeCountRow {
  parent: string;
  child: string;
  callCount: number;
  errorCount: number | null;
}

export class EdgeRollup {
  private readonly fromRollup: Database.Statement<[number, number], EdgeCountRow>;
  private readonly fromSpans: Database.Statement<[number, number], EdgeCountRow>;
  private readonly rollupRows: Database.Statement<[number, number], RollupRow>;
  private readonly spansInMinutes: Database.Statement<[number, number], number | null>;

  constructor(
    db: Database.Database,
    /** The spans of a range, streamed (sqlite-store.ts). */
    private readonly samples: (startUs: number, endUs: number) => Iterable<RawSample>,
  ) {
    this.rollupRows = db.prepare<[number, number], RollupRow>(
      `SELECT minute, parent, child, calls, errors, request_bytes, response_bytes, client_hist, server_hist
         FROM edge_minutes WHERE minute >= ? AND minute <= ?`,
    );
    this.spansInMinutes = db
      .prepare<[number, number], number | null>('SELECT SUM(spans) FROM edge_minutes WHERE minute >= ? AND minute <= ?')
      .pluck();
    this.fromRollup = db.prepare(
      `SELECT parent, child, SUM(calls) AS callCount, SUM(errors) AS errorCount
         FROM edge_minutes WHERE minute >= ? AND minute <= ? GROUP BY parent, child`,
    );
    // Counting rule of dependencies.ts: client spans, and server spans whose caller was not seen.
    this.fromSpans = db.prepare(
      `SELECT CASE kind WHEN 'client' THEN service ELSE peer_service END AS parent,
              CASE kind WHEN 'client' THEN peer_service ELSE service END AS child,
              COUNT(*) AS callCount, SUM(status = 'error') AS errorCount
         FROM spans
        WHERE start_us >= ? AND start_us <= ? AND (kind = 'client' OR peer_local = 0)
        GROUP BY parent, child`,
    );
  }

  /** Edges for spans starting in [startUs, endUs] (integers, inclusive), sorted by parent then child. */
  dependencies(startUs: number, endUs: number): DependencyEdge[] {
    const byEdge = new Map<string, DependencyEdge>();
    const add = (rows: EdgeCountRow[]): void => {
      for (const r of rows) {
        const key = `${r.parent.length}:${r.parent}${r.child}`;
        const edge = byEdge.get(key);
        if (edge) {
          edge.callCount += r.callCount;
          edge.errorCount += r.errorCount ?? 0;
        } else byEdge.set(key, { parent: r.parent, child: r.child, callCount: r.callCount, errorCount: r.errorCount ?? 0 });
      }
    };
    // Minute m covers [m * MINUTE_US, (m + 1) * MINUTE_US - 1].
    const firstFull = Math.ceil(startUs / MINUTE_US);
    const lastFull = Math.floor((endUs + 1) / MINUTE_US) - 1;
    if (firstFull > lastFull) {
      add(this.fromSpans.all(startUs, endUs));
    } else {
      if (startUs < firstFull * MINUTE_US) add(this.fromSpans.all(startUs, firstFull * MINUTE_US - 1));
      add(this.fromRollup.all(firstFull, lastFull));
      if ((lastFull + 1) * MINUTE_US <= endUs) add(this.fromSpans.all((lastFull + 1) * MINUTE_US, endUs));
    }
    // Rollup rows of edges seen only from a local server side have no call.
    return [...byEdge.values()].filter((e) => e.callCount > 0).sort(compareEdges);
  }

  /**
   * Whether latency over [startUs, endUs] should come from the rollup: the
   * range holds more than EXACT_MAX_SPANS spans and at least one whole minute.
   */
  private large(startUs: number, endUs: number): boolean {
    if (Math.ceil(startUs / MINUTE_US) > Math.floor((endUs + 1) / MINUTE_US) - 1) return false;
    return (this.spansInMinutes.get(Math.floor(startUs / MINUTE_US), Math.floor(endUs / MINUTE_US)) ?? 0) > EXACT_MAX_SPANS;
  }

  /** dependencyStats from the rollup, or undefined when the range is small enough to compute exactly. */
  dependencyStats(startUs: number, endUs: number): DependencyStats[] | undefined {
    if (!this.large(startUs, endUs)) return undefined;
    const accs = new EdgeAccs();
    const firstFull = Math.ceil(startUs / MINUTE_US);
    const lastFull = Math.floor((endUs + 1) / MINUTE_US) - 1;
    for (const r of this.rollupRows.iterate(firstFull, lastFull)) accs.get(r.parent, r.child).addRow(r);
    for (const s of this.partialSamples(startUs, endUs, firstFull, lastFull)) accs.addSample(s);
    return accs.stats();
  }

  /**
   * edgeTimeseries from the rollup, or undefined when the range is small or
   * the step is not whole minutes (then the caller computes it exactly).
   */
  edgeTimeseries(startUs: number, endUs: number, stepUs: number): EdgeSeries[] | undefined {
    if (stepUs % MINUTE_US !== 0 || !this.large(startUs, endUs)) return undefined;
    const firstFull = Math.ceil(startUs / MINUTE_US);
    const lastFull = Math.floor((endUs + 1) / MINUTE_US) - 1;
    const grid = Math.floor(startUs / MINUTE_US) * MINUTE_US;
    const bucketOf = (tUs: number): number => Math.max(startUs, grid + Math.floor((tUs - grid) / stepUs) * stepUs);
    const buckets = new Map<number, EdgeAccs>();
    const accsAt = (tUs: number): EdgeAccs => {
      const b = bucketOf(tUs);
      let accs = buckets.get(b);
      if (!accs) buckets.set(b, (accs = new EdgeAccs()));
      return accs;
    };
    for (const r of this.rollupRows.iterate(firstFull, lastFull)) accsAt(r.minute * MINUTE_US).get(r.parent, r.child).addRow(r);
    for (const s of this.partialSamples(startUs, endUs, firstFull, lastFull)) accsAt(s.startUs).addSample(s);
    const series = new Map<string, EdgeSeries>();
    for (const tUs of [...buckets.keys()].sort((a, b) => a - b)) {
      for (const stats of buckets.get(tUs)!.stats()) {
        const key = `${stats.parent.length}:${stats.parent}${stats.child}`;
        let s = series.get(key);
        if (!s) series.set(key, (s = { parent: stats.parent, child: stats.child, points: [] }));
        s.points.push({
          tUs,
          callCount: stats.callCount,
          errorCount: stats.errorCount,
          ...(stats.client ? { client: stats.client } : {}),
          ...(stats.server ? { server: stats.server } : {}),
        });
      }
    }
    return [...series.values()].sort(compareEdges);
  }

  /** The spans of the partial minutes at either end of a range whose whole minutes are firstFull..lastFull. */
  private *partialSamples(startUs: number, endUs: number, firstFull: number, lastFull: number): Generator<RawSample> {
    if (startUs < firstFull * MINUTE_US) yield* this.samples(startUs, firstFull * MINUTE_US - 1);
    if ((lastFull + 1) * MINUTE_US <= endUs) yield* this.samples((lastFull + 1) * MINUTE_US, endUs);
  }
}
