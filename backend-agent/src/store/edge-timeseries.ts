/**
 * Service-graph edges bucketed in time, for time-series panels (rate, error
 * ratio, latency percentiles per client -> server edge). Each bucket is
 * aggregated exactly like the whole-range service graph (dependencies.ts), so
 * summing a series' counts gives the edge's callCount over the same range.
 */
import { aggregateDependencies, type DependencySample, type LatencySummary } from './dependencies.js';

export interface TimedDependencySample extends DependencySample {
  startUs: number;
}

/** One bucket of one edge: spans starting in [tUs, tUs + stepUs). */
export interface EdgeBucket {
  tUs: number;
  callCount: number;
  errorCount: number;
  client?: LatencySummary;
  server?: LatencySummary;
}

export interface EdgeSeries {
  parent: string;
  child: string;
  /** Buckets with at least one counted call, ascending by time; empty buckets are omitted. */
  points: EdgeBucket[];
}

/**
 * Buckets start at startUs and are stepUs wide; the last one may end past
 * endUs. Samples outside [startUs, endUs] are ignored.
 */
export function bucketEdges(samples: Iterable<TimedDependencySample>, startUs: number, endUs: number, stepUs: number): EdgeSeries[] {
  const byBucket = new Map<number, DependencySample[]>();
  for (const s of samples) {
    if (s.startUs < startUs || s.startUs > endUs) continue;
    const tUs = startUs + Math.floor((s.startUs - startUs) / stepUs) * stepUs;
    let bucket = byBucket.get(tUs);
    if (!bucket) byBucket.set(tUs, (bucket = []));
    bucket.push(s);
  }
  const byEdge = new Map<string, EdgeSeries>();
  for (const tUs of [...byBucket.keys()].sort((a, b) => a - b)) {
    for (const stats of aggregateDependencies(byBucket.get(tUs)!)) {
      const key = JSON.stringify([stats.parent, stats.child]);
      let series = byEdge.get(key);
      if (!series) byEdge.set(key, (series = { parent: stats.parent, child: stats.child, points: [] }));
      const point: EdgeBucket = { tUs, callCount: stats.callCount, errorCount: stats.errorCount };
      if (stats.client) point.client = stats.client;
      if (stats.server) point.server = stats.server;
      series.points.push(point);
    }
  }
  return [...byEdge.values()].sort((a, b) =>
    a.parent !== b.parent ? (a.parent < b.parent ? -1 : 1) : a.child < b.child ? -1 : a.child > b.child ? 1 : 0,
  );
}
