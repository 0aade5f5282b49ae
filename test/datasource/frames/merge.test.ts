/**
 * Merging one edge reported by several agents (the same service pair seen on
 * two nodes): counts add, percentiles take the upper bound, buckets align.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeDependencies } from '../../../src/datasource/frames/edge-merge.js';
import { mergeEdgeSeries } from '../../../src/datasource/frames/edge-metrics-frames.js';
import { mergeTraceSpans } from '../../../src/datasource/frames/trace-frame.js';
import type { Span } from '../../../backend-agent/src/model/span.js';

const lat = (count: number, p50: number, p95: number, p99: number) => ({ count, p50Ns: p50, p95Ns: p95, p99Ns: p99 });

test('mergeDependencies: same edge from two agents adds counts and keeps the worst percentiles; bytes add up', () => {
  const merged = mergeDependencies([
    [{ parent: 'web', child: 'db', callCount: 3, errorCount: 1, client: lat(3, 10, 20, 30), requestBytes: 300, responseBytes: 900 }],
    [
      {
        parent: 'web',
        child: 'db',
        callCount: 2,
        errorCount: 0,
        client: lat(2, 15, 18, 40),
        server: lat(2, 5, 6, 7),
        requestBytes: 200,
        responseBytes: 600,
        networkTimeNs: 10,
      },
      { parent: 'api', child: 'db', callCount: 1, errorCount: 0, requestBytes: 100, responseBytes: 50 },
    ],
  ]);
  assert.deepEqual(merged, [
    { parent: 'api', child: 'db', callCount: 1, errorCount: 0, requestBytes: 100, responseBytes: 50 },
    {
      parent: 'web',
      child: 'db',
      callCount: 5,
      errorCount: 1,
      client: lat(5, 15, 20, 40),
      server: lat(2, 5, 6, 7),
      requestBytes: 500,
      responseBytes: 1500,
      networkTimeNs: 10,
    },
  ]);
});

test('mergeEdgeSeries: points of the same bucket merge, others interleave in time order', () => {
  const merged = mergeEdgeSeries([
    [{ parent: 'a', child: 'b', points: [{ tUs: 0, callCount: 1, errorCount: 0 }, { tUs: 200, callCount: 2, errorCount: 1 }] }],
    [{ parent: 'a', child: 'b', points: [{ tUs: 100, callCount: 4, errorCount: 0 }, { tUs: 200, callCount: 1, errorCount: 1, server: lat(1, 1, 1, 1) }] }],
  ]);
  assert.deepEqual(merged, [
    {
      parent: 'a',
      child: 'b',
      points: [
        { tUs: 0, callCount: 1, errorCount: 0 },
        { tUs: 100, callCount: 4, errorCount: 0 },
        { tUs: 200, callCount: 3, errorCount: 2, server: lat(1, 1, 1, 1) },
      ],
    },
  ]);
});

test('mergeTraceSpans: a span returned by two agents appears once; order is by start, client first on ties', () => {
  const span = (spanId: string, kind: 'client' | 'server', startTimeUs: number) => ({ spanId, kind, startTimeUs }) as Span;
  const merged = mergeTraceSpans([
    [span('s2', 'server', 10), span('c1', 'client', 5)],
    [span('c1', 'client', 5), span('s1', 'server', 5)],
  ]);
  assert.deepEqual(merged.map((s) => `${s.spanId}/${s.kind}`), ['c1/client', 's1/server', 's2/server']);
});
