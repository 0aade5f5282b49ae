import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Span } from '../../../backend-agent/src/model/span.js';
import { SelfTimeEstimator, coveredNs, DEFAULT_SELF_TIME_OPTIONS } from '../../../backend-agent/src/export/self-time.js';
import { SpanMetrics } from '../../../backend-agent/src/export/span-metrics.js';
import { side } from '../reconstruct/link-fixtures.js';
import { T0_US, makeSpan, spanIdOf, traceIdOf } from '../fixtures/spans.js';

const MS = 1000; // µs

function collect(options = DEFAULT_SELF_TIME_OPTIONS): { estimator: SelfTimeEstimator; seen: Map<string, number> } {
  const seen = new Map<string, number>();
  const estimator = new SelfTimeEstimator((server, seconds) => seen.set(server.spanId, seconds), options);
  return { estimator, seen };
}

/** A span far later on another process: it moves the estimator's clock so earlier spans settle. */
function later(atUs: number): Span {
  return side({ n: 999, kind: 'server', pid: 9, startUs: atUs, durationUs: 1 * MS, local: 9000, remote: 9001 });
}

describe('self time of server spans', () => {
  test('thread-per-request: the server waited on two calls of its own thread, one of them overlapping another', () => {
    const { estimator, seen } = collect();
    const server = side({ n: 1, kind: 'server', pid: 10, tid: 11, startUs: 0, durationUs: 100 * MS, local: 8000, remote: 40000 });
    const a = side({ n: 2, kind: 'client', pid: 10, tid: 11, startUs: 10 * MS, durationUs: 30 * MS, local: 40001, remote: 8100 });
    const b = side({ n: 3, kind: 'client', pid: 10, tid: 11, startUs: 30 * MS, durationUs: 20 * MS, local: 40002, remote: 8200 });
    // A call on another thread of the same process belongs to another request.
    const other = side({ n: 4, kind: 'client', pid: 10, tid: 12, startUs: 60 * MS, durationUs: 30 * MS, local: 40003, remote: 8100 });
    const otherServer = side({ n: 5, kind: 'server', pid: 10, tid: 12, startUs: 55 * MS, durationUs: 40 * MS, local: 8000, remote: 40004 });
    estimator.add([a, b, other, server, otherServer]);
    assert.equal(seen.size, 0, 'nothing settles before the clock has moved past the servers');
    estimator.add([later(2_000 * MS)]);
    // a and b cover 10..50 ms: 40 ms waited out of 100.
    assert.ok(Math.abs(seen.get(spanIdOf(1))! - 0.06) < 1e-9, `self ${seen.get(spanIdOf(1))}`);
    assert.ok(Math.abs(seen.get(spanIdOf(5))! - 0.01) < 1e-9, `other self ${seen.get(spanIdOf(5))}`);
    assert.equal(estimator.settled, 2);
  });

  test('event loop with trace context: concurrent requests each lose only their own calls', () => {
    const { estimator, seen } = collect();
    const mk = (n: number, kind: 'client' | 'server', trace: number, startUs: number, durationUs: number, local: number, remote: number): Span => ({
      ...side({ n, kind, pid: 20, tid: 20, startUs, durationUs, local, remote }),
      traceId: traceIdOf(trace),
      traceIdSource: 'w3c',
    });
    const s1 = mk(1, 'server', 100, 0, 100 * MS, 8000, 41000);
    const s2 = mk(2, 'server', 200, 5 * MS, 100 * MS, 8000, 41001);
    const c1 = mk(3, 'client', 100, 10 * MS, 80 * MS, 42000, 8100); // slow call of request 1
    const c2 = mk(4, 'client', 200, 12 * MS, 5 * MS, 42001, 8100); // quick call of request 2
    estimator.add([c1, c2, s1, s2, later(5_000 * MS)]);
    assert.ok(Math.abs(seen.get(spanIdOf(1))! - 0.02) < 1e-9, `s1 self ${seen.get(spanIdOf(1))}`);
    assert.ok(Math.abs(seen.get(spanIdOf(2))! - 0.095) < 1e-9, `s2 self ${seen.get(spanIdOf(2))}`);
  });

  test('a leaf server keeps its whole duration; a scrape settles what traffic stopped leaving', () => {
    const metrics = new SpanMetrics();
    const server = makeSpan({ kind: 'server', service: 'payments', peerService: 'orders', peerLocal: true, durationNs: 7_000_000, startTimeUs: T0_US });
    metrics.record([server]);
    const before = metrics.families(T0_US).find((f) => f.name === 'wiretrace_service_graph_request_server_self_seconds');
    assert.equal(before?.samples.length, 0, 'not settled yet');
    const after = metrics.families(T0_US + 10_000_000).find((f) => f.name === 'wiretrace_service_graph_request_server_self_seconds');
    const sum = after?.samples.find((s) => s.suffix === '_sum' && s.labels?.client === 'orders' && s.labels?.server === 'payments');
    assert.ok(sum && Math.abs(sum.value - 0.007) < 1e-9, `sum ${sum?.value}`);
  });

  test('a full window evicts its oldest spans, counting servers observed without their children', () => {
    const { estimator, seen } = collect({ ...DEFAULT_SELF_TIME_OPTIONS, maxSpansPerProcess: 4 });
    const spans = Array.from({ length: 6 }, (_, i) => side({ n: 10 + i, kind: 'server', pid: 30, startUs: i * MS, durationUs: 500, local: 8000, remote: 43000 + i }));
    estimator.add(spans);
    assert.equal(estimator.evicted, 2);
    assert.equal(seen.size, 2, 'evicted servers are still observed');
    estimator.settle(T0_US + 60_000 * MS);
    assert.equal(seen.size, 6);
  });

  test('overlapping children count once, and children are clipped to the server', () => {
    const server = side({ n: 1, kind: 'server', pid: 1, startUs: 0, durationUs: 10 * MS, local: 1, remote: 2 });
    const kids = [
      side({ n: 2, kind: 'client', pid: 1, startUs: -2 * MS, durationUs: 4 * MS, local: 3, remote: 4 }), // 0..2 inside
      side({ n: 3, kind: 'client', pid: 1, startUs: 1 * MS, durationUs: 3 * MS, local: 3, remote: 4 }), // 1..4
      side({ n: 4, kind: 'client', pid: 1, startUs: 8 * MS, durationUs: 5 * MS, local: 3, remote: 4 }), // 8..10 inside
    ];
    assert.equal(coveredNs(server, kids), 6_000_000);
  });
});
