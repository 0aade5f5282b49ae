import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import type { Span } from '../../../backend-agent/src/model/span.js';
import type { SpanStore } from '../../../backend-agent/src/store/index.js';
import { matchingSpansSql } from '../../../backend-agent/src/store/span-filter.js';
import { T0_US, makeCall, makeSpan, traceIdOf } from '../fixtures/spans.js';
import { openTempStore, removeStoreDir } from '../fixtures/temp-store.js';

const MS = 1000; // µs per ms

/**
 * Seed: 5 traces.
 *  t1 frontend -> orders (200, 2 ms) at T0
 *  t2 frontend -> orders (500, error, 30 ms) at T0+10ms
 *  t3 frontend -> payments at T0+20ms, POST /pay
 *  t4 orders server span from a remote caller (peerLocal false) at T0+30ms
 *  t5 frontend server span only, at T0+40ms, 100 µs
 */
function seed(): Span[] {
  const spans: Span[] = [];
  const c1 = makeCall({ traceId: traceIdOf(1), caller: 'frontend', callee: 'orders', startTimeUs: T0_US, durationNs: 2_000_000 });
  const c2 = makeCall({
    traceId: traceIdOf(2),
    caller: 'frontend',
    callee: 'orders',
    startTimeUs: T0_US + 10 * MS,
    durationNs: 30_000_000,
    status: 'error',
  });
  c2.server.attributes = { ...c2.server.attributes, 'http.response.status_code': 500 };
  c2.client.attributes = { ...c2.client.attributes, 'http.response.status_code': 500 };
  const c3 = makeCall({
    traceId: traceIdOf(3),
    caller: 'frontend',
    callee: 'payments',
    startTimeUs: T0_US + 20 * MS,
    durationNs: 5_000_000,
    name: 'POST /pay',
  });
  c3.server.attributes = { ...c3.server.attributes, 'http.request.method': 'POST', 'url.path': '/pay', 'app.flag': true, 'app.ratio': 0.25 };
  const remote = makeSpan({
    traceId: traceIdOf(4),
    service: 'orders',
    peerService: '10.0.0.9',
    peerLocal: false,
    startTimeUs: T0_US + 30 * MS,
    durationNs: 4_000_000,
    status: 'error',
  });
  const lone = makeSpan({ traceId: traceIdOf(5), service: 'frontend', startTimeUs: T0_US + 40 * MS, durationNs: 100_000 });
  spans.push(c1.client, c1.server, c2.client, c2.server, c3.client, c3.server, remote, lone);
  return spans;
}

describe('span store queries', () => {
  let store: SpanStore;
  let spans: Span[];

  before(() => {
    store = openTempStore();
    spans = seed();
    store.insertSpans(spans);
  });
  after(() => {
    store.close();
    removeStoreDir(store);
  });

  test('getTrace returns the stored spans unchanged, ordered by start', () => {
    const trace = store.getTrace(traceIdOf(1));
    assert.equal(trace.length, 2);
    assert.deepEqual(trace[0], spans[0]);
    assert.deepEqual(trace[1], spans[1]);
    assert.deepEqual(store.getTrace(traceIdOf(99)), []);
  });

  test('re-inserting the same (trace, span, kind) replaces instead of duplicating', () => {
    const before = store.stats().spanCount;
    const updated = { ...spans[7]!, name: 'GET /renamed' };
    store.insertSpans([updated]);
    assert.equal(store.stats().spanCount, before);
    assert.equal(store.getTrace(traceIdOf(5))[0]!.name, 'GET /renamed');
    assert.ok(store.operations('frontend').some((o) => o.name === 'GET /renamed'));
    store.insertSpans([spans[7]!]);
    assert.equal(store.getTrace(traceIdOf(5))[0]!.name, spans[7]!.name);
    // The catalog forgets an operation whose last span was renamed away.
    assert.ok(!store.operations('frontend').some((o) => o.name === 'GET /renamed'));
  });

  test('a client and a server span may share a span id (different kind)', () => {
    const a = makeSpan({ traceId: traceIdOf(77), spanId: 'aaaaaaaaaaaaaaaa', kind: 'client', service: 'x', startTimeUs: T0_US - 99 * MS });
    const b = { ...a, kind: 'server' as const };
    store.insertSpans([a, b]);
    assert.equal(store.getTrace(traceIdOf(77)).length, 2);
  });

  test('getTraces fetches several traces in one call', () => {
    const map = store.getTraces([traceIdOf(1), traceIdOf(3), traceIdOf(404)]);
    assert.deepEqual([...map.keys()].sort(), [traceIdOf(1), traceIdOf(3)]);
    assert.equal(map.get(traceIdOf(3))!.length, 2);
  });

  test('findTraces by service: most recent first, limit respected', () => {
    assert.deepEqual(store.findTraces({ service: 'orders', limit: 10 }), [traceIdOf(4), traceIdOf(2), traceIdOf(1)]);
    assert.deepEqual(store.findTraces({ service: 'orders', limit: 2 }), [traceIdOf(4), traceIdOf(2)]);
    assert.deepEqual(store.findTraces({ service: 'orders', limit: 0 }), []);
  });

  test('findTraces by operation, time range and durations', () => {
    assert.deepEqual(store.findTraces({ service: 'payments', operation: 'POST /pay', limit: 10 }), [traceIdOf(3)]);
    assert.deepEqual(store.findTraces({ service: 'payments', operation: 'GET /api/items', limit: 10 }), []);
    assert.deepEqual(
      store.findTraces({ service: 'frontend', startUs: T0_US + 5 * MS, endUs: T0_US + 25 * MS, limit: 10 }),
      [traceIdOf(3), traceIdOf(2)],
    );
    // Inclusive bounds.
    assert.deepEqual(store.findTraces({ service: 'frontend', startUs: T0_US + 40 * MS, endUs: T0_US + 40 * MS, limit: 10 }), [traceIdOf(5)]);
    assert.deepEqual(store.findTraces({ service: 'orders', minDurationNs: 3_000_000, limit: 10 }), [traceIdOf(4), traceIdOf(2)]);
    assert.deepEqual(store.findTraces({ service: 'orders', maxDurationNs: 3_000_000, limit: 10 }), [traceIdOf(1)]);
    assert.deepEqual(store.findTraces({ service: 'orders', minDurationNs: 2_000_000, maxDurationNs: 2_000_000, limit: 10 }), [traceIdOf(1)]);
  });

  test('findTraces tags match attributes (numbers, booleans, floats as text) and derived tags', () => {
    assert.deepEqual(store.findTraces({ service: 'orders', tags: { 'http.response.status_code': '500' }, limit: 10 }), [traceIdOf(2)]);
    assert.deepEqual(store.findTraces({ service: 'orders', tags: { error: 'true' }, limit: 10 }), [traceIdOf(4), traceIdOf(2)]);
    assert.deepEqual(store.findTraces({ service: 'orders', tags: { error: 'false' }, limit: 10 }), [traceIdOf(1)]);
    assert.deepEqual(store.findTraces({ service: 'payments', tags: { 'app.flag': 'true', 'app.ratio': '0.25' }, limit: 10 }), [traceIdOf(3)]);
    assert.deepEqual(store.findTraces({ service: 'payments', tags: { 'app.flag': 'false' }, limit: 10 }), []);
    assert.deepEqual(store.findTraces({ service: 'frontend', tags: { 'span.kind': 'server' }, limit: 10 }), [traceIdOf(5)]);
    assert.deepEqual(store.findTraces({ service: 'orders', tags: { 'otel.status_code': 'ERROR' }, limit: 10 }), [traceIdOf(4), traceIdOf(2)]);
    // Every tag must match on the same span.
    assert.deepEqual(store.findTraces({ service: 'orders', tags: { error: 'true', 'http.response.status_code': '200' }, limit: 10 }), [traceIdOf(4)]);
    assert.deepEqual(store.findTraces({ service: 'orders', tags: { 'no.such.tag': 'x' }, limit: 10 }), []);
  });

  test('SQL injection strings are just values: no error, no data', () => {
    for (const evil of ["' OR 1=1 --", '" OR ""="', "x'); DROP TABLE spans; --", '%', '*']) {
      assert.deepEqual(store.findTraces({ service: evil, limit: 10 }), []);
      assert.deepEqual(store.findTraces({ service: 'orders', operation: evil, limit: 10 }), []);
      assert.deepEqual(store.findTraces({ service: 'orders', tags: { [evil]: evil }, limit: 10 }), []);
      assert.deepEqual(store.operations(evil), []);
      assert.deepEqual(store.getTrace(evil), []);
    }
    assert.ok(store.stats().spanCount > 0);
  });

  test('services and operations come from the catalog', () => {
    assert.deepEqual(store.services(), ['frontend', 'orders', 'payments', 'x']);
    assert.deepEqual(store.operations('payments'), [{ name: 'POST /pay', spanKind: 'server' }]);
    assert.deepEqual(store.operations('frontend'), [
      { name: 'GET /api/items', spanKind: 'client' },
      { name: 'GET /api/items', spanKind: 'server' },
      { name: 'POST /pay', spanKind: 'client' },
    ]);
    assert.deepEqual(store.operations('frontend', 'server'), [{ name: 'GET /api/items', spanKind: 'server' }]);
    assert.deepEqual(store.operations('nobody'), []);
  });

  test('dependencies count each call once and count errors', () => {
    const edges = store.dependencies(T0_US, T0_US + 60 * MS);
    assert.deepEqual(edges, [
      { parent: '10.0.0.9', child: 'orders', callCount: 1, errorCount: 1 },
      // The lone server span's caller was not seen (peerLocal false): counted from the server side.
      { parent: 'client-app', child: 'frontend', callCount: 1, errorCount: 0 },
      { parent: 'frontend', child: 'orders', callCount: 2, errorCount: 1 },
      { parent: 'frontend', child: 'payments', callCount: 1, errorCount: 0 },
    ]);
    assert.deepEqual(store.dependencies(T0_US + 15 * MS, T0_US + 25 * MS), [
      { parent: 'frontend', child: 'payments', callCount: 1, errorCount: 0 },
    ]);
  });

  test('dependencyStats agree with dependencies and add both sides latency', () => {
    const stats = store.dependencyStats(T0_US, T0_US + 60 * MS);
    assert.deepEqual(
      stats.map(({ parent, child, callCount, errorCount }) => ({ parent, child, callCount, errorCount })),
      store.dependencies(T0_US, T0_US + 60 * MS),
    );
    const fo = stats.find((e) => e.parent === 'frontend' && e.child === 'orders')!;
    assert.deepEqual(fo.client, { count: 2, p50Ns: 2_020_000, p95Ns: 30_020_000, p99Ns: 30_020_000 });
    assert.deepEqual(fo.server, { count: 2, p50Ns: 2_000_000, p95Ns: 30_000_000, p99Ns: 30_000_000 });
    assert.equal(fo.networkTimeNs, 20_000, 'median client minus median server latency');
    // Bytes come from the counted (client) side only: 2 calls of the fixture's 120 B request, 340 B response.
    assert.equal(fo.requestBytes, 240);
    assert.equal(fo.responseBytes, 680);
    const remote = stats.find((e) => e.parent === '10.0.0.9')!;
    assert.equal(remote.client, undefined, 'no client side seen for a remote caller');
    assert.equal(remote.networkTimeNs, undefined, 'network time needs both sides');
    assert.equal(remote.server!.count, 1);
  });

  test('searchSpans filters raw spans, newest first', () => {
    const clients = store.searchSpans({ service: 'frontend', kind: 'client', limit: 10 });
    assert.deepEqual(clients.map((s) => s.traceId), [traceIdOf(3), traceIdOf(2), traceIdOf(1)]);
    assert.equal(store.searchSpans({ service: 'frontend', kind: 'client', limit: 1 }).length, 1);
    assert.deepEqual(store.searchSpans({ status: 'error', kind: 'server', limit: 10 }).map((s) => s.traceId), [traceIdOf(4), traceIdOf(2)]);
    assert.deepEqual(store.searchSpans({ traceId: traceIdOf(3), limit: 10 }).length, 2);
  });

  test('stats report count, size and time bounds', () => {
    const stats = store.stats();
    assert.equal(stats.spanCount, 10);
    assert.ok(stats.sizeBytes > 0);
    assert.equal(stats.oldestStartTimeUs, T0_US - 99 * MS);
    assert.equal(stats.newestStartTimeUs, T0_US + 40 * MS);
    const health = store.health();
    assert.equal(health.path, store.path);
    assert.equal(health.spanCount, 10);
    assert.equal(health.writeError, undefined);
  });

  test('service + time searches use an index, never a full scan', () => {
    const db = new Database(store.path, { readonly: true });
    try {
      const plan = (q: Parameters<typeof matchingSpansSql>[0]) => {
        const { sql, params } = matchingSpansSql(q, 'trace_id');
        return (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join(' | ');
      };
      const serviceTime = plan({ service: 'orders', startUs: T0_US, endUs: T0_US + 1 });
      assert.match(serviceTime, /SEARCH spans USING INDEX spans_service_start \(service=\? AND start_us>\? AND start_us<\?\)/);
      assert.doesNotMatch(serviceTime, /SCAN spans|TEMP B-TREE/);
      const withOperation = plan({ service: 'orders', operation: 'GET /x', startUs: T0_US, endUs: T0_US + 1, tags: { error: 'true', a: 'b' } });
      // Schema v6: the operation is a filter on the (service, start_us) walk.
      assert.match(withOperation, /SEARCH spans USING INDEX spans_service_start/);
      assert.doesNotMatch(withOperation, /SCAN spans |TEMP B-TREE/);
      assert.match(plan({ startUs: T0_US, endUs: T0_US + 1 }), /SEARCH spans USING INDEX spans_start/);
      assert.match(plan({ traceId: traceIdOf(1) }), /USING INDEX spans_identity/);
      // stats() time bounds: each a single lookup at one end of the index.
      for (const agg of ['MIN', 'MAX']) {
        const detail = (db.prepare(`EXPLAIN QUERY PLAN SELECT ${agg}(start_us) FROM spans`).all() as Array<{ detail: string }>)[0]!.detail;
        assert.match(detail, /^SEARCH spans USING COVERING INDEX spans_start/);
      }
    } finally {
      db.close();
    }
  });
});
