/**
 * Bucketed edge statistics -> one time series per client -> server edge for
 * the chosen metric (rate, error ratio, latency percentile), labelled with
 * source and target so legends and overrides can use them.
 */
import { createDataFrame, FieldType, type DataFrame } from '@grafana/data';
import type { EdgeSeries } from '../agents/native-api';
import type { EdgeMetric } from '../types';
import { edgeKey, edgeLatency, mergeLatency } from './edge-merge';

type Bucket = EdgeSeries['points'][number];

/** Same edge from several agents: buckets are aligned (same start and step), so they merge point by point. */
export function mergeEdgeSeries(perAgent: ReadonlyArray<readonly EdgeSeries[]>): EdgeSeries[] {
  const byEdge = new Map<string, { parent: string; child: string; byT: Map<number, Bucket> }>();
  for (const series of perAgent) {
    for (const s of series) {
      const key = edgeKey(s.parent, s.child);
      let acc = byEdge.get(key);
      if (!acc) byEdge.set(key, (acc = { parent: s.parent, child: s.child, byT: new Map() }));
      for (const p of s.points) {
        const seen = acc.byT.get(p.tUs);
        if (!seen) {
          acc.byT.set(p.tUs, { ...p });
          continue;
        }
        seen.callCount += p.callCount;
        seen.errorCount += p.errorCount;
        const client = mergeLatency(seen.client, p.client);
        const server = mergeLatency(seen.server, p.server);
        if (client) seen.client = client;
        if (server) seen.server = server;
      }
    }
  }
  return [...byEdge.values()]
    .map((a) => ({ parent: a.parent, child: a.child, points: [...a.byT.values()].sort((x, y) => x.tUs - y.tUs) }))
    .sort((a, b) => (a.parent === b.parent ? a.child.localeCompare(b.child) : a.parent.localeCompare(b.parent)));
}

const METRIC_UNITS: Record<EdgeMetric, { unit: string; label: string }> = {
  rate: { unit: 'reqps', label: 'rate' },
  errorRatio: { unit: 'percentunit', label: 'error ratio' },
  p50: { unit: 'ms', label: 'p50 latency' },
  p95: { unit: 'ms', label: 'p95 latency' },
  p99: { unit: 'ms', label: 'p99 latency' },
};

function value(metric: EdgeMetric, p: Bucket, stepSeconds: number): number | null {
  switch (metric) {
    case 'rate':
      return p.callCount / stepSeconds;
    case 'errorRatio':
      return p.callCount === 0 ? null : p.errorCount / p.callCount;
    default: {
      const l = edgeLatency(p);
      if (!l) return null;
      const ns = metric === 'p50' ? l.p50Ns : metric === 'p95' ? l.p95Ns : l.p99Ns;
      return ns / 1e6;
    }
  }
}

export interface EdgeMetricsOptions {
  metric: EdgeMetric;
  startUs: number;
  endUs: number;
  stepUs: number;
  refId?: string;
}

/**
 * Rate series get an explicit 0 for every bucket without calls (an idle edge
 * is a flat line, not a gap); ratios and latencies have no value there.
 */
export function edgeMetricsFrames(series: readonly EdgeSeries[], opts: EdgeMetricsOptions): DataFrame[] {
  const stepSeconds = opts.stepUs / 1e6;
  const { unit, label } = METRIC_UNITS[opts.metric];
  return series.map((s) => {
    let points: Array<{ tUs: number; v: number | null }>;
    if (opts.metric === 'rate') {
      const byT = new Map(s.points.map((p) => [p.tUs, p]));
      points = [];
      for (let t = opts.startUs; t <= opts.endUs; t += opts.stepUs) {
        const p = byT.get(t);
        points.push({ tUs: t, v: p ? value('rate', p, stepSeconds) : 0 });
      }
    } else {
      points = s.points.map((p) => ({ tUs: p.tUs, v: value(opts.metric, p, stepSeconds) }));
    }
    return createDataFrame({
      name: `${s.parent} → ${s.child}`,
      ...(opts.refId !== undefined ? { refId: opts.refId } : {}),
      meta: { preferredVisualisationType: 'graph' },
      fields: [
        { name: 'time', type: FieldType.time, values: points.map((p) => p.tUs / 1000) },
        {
          name: opts.metric,
          type: FieldType.number,
          values: points.map((p) => p.v),
          labels: { source: s.parent, target: s.child },
          config: { unit, displayNameFromDS: `${s.parent} → ${s.child} ${label}` },
        },
      ],
    });
  });
}
