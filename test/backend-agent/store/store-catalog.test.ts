/**
 * Schema v6: the catalogs (span counter, operations, per-minute service-graph
 * rollup) are kept per batch by the writer, and spans are stored in the
 * compact encoding. Checked against the spans themselves: the rollup-backed
 * service graph must equal a plain aggregation of the stored spans for any
 * range, also after replacements and retention.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import type { Span } from '../../../backend-agent/src/model/span.js';
import type { SpanStore } from '../../../backend-agent/src/store/index.js';
import { aggregateDependencies } from '../../../backend-agent/src/store/dependencies.js';
import { EXACT_MAX_SPANS } from '../../../backend-agent/src/store/edge-rollup.js';
import { decodeSpan, encodeSpan } from '../../../backend-agent/src/store/span-codec.js';
import { T0_US, makeCall, makeSpan, traceIdOf } from '../fixtures/spans.js';
import { openTempStore, removeStoreDir } from '../fixtures/temp-store.js';

const MINUTE_US = 60_000_000;

/** Deterministic calls over `minutes` minutes between a few services, some errors, some remote callers. */
function traffic(n: number, minutes: number): Span[] {
  const services = ['frontend', 'orders', 'payments', 'catalog'];
  const out: Span[] = [];
  for (let i = 0; i < n; i++) {
    const startTimeUs = T0_US + Math.floor(((i * 7919) % (minutes * 600)) * 100_000) + (i % 97);
    const caller = services[i % 4]!;
    const callee = services[(i * 3 + 1) % 4]!;
    if (i % 10 === 0) {
      out.push(makeSpan({ traceId: traceIdOf(i + 1), service: callee, peerService: '10.0.0.9', peerLocal: false, startTimeUs, status: i % 20 === 0 ? 'error' : 'unset' }));
      continue;
    }
    const call = makeCall({ traceId: traceIdOf(i + 1), caller, callee, startTimeUs, durationNs: 1_000_000 + i, status: i % 7 === 0 ? 'error' : 'unset' });
    out.push(call.client, call.server);
  }
  return out;
}

/** A span as the store's aggregation sees it (sizes are columns there). */
function sample(s: Span) {
  return { ...s, requestBytes: s.network.requestBytes, responseBytes: s.network.responseBytes };
}

function expectedEdges(spans: readonly Span[], startUs: number, endUs: number) {
  return aggregateDependencies(spans.filter((s) => s.startTimeUs >= startUs && s.startTimeUs <= endUs)).map(({ parent, child, callCount, errorCount }) => ({
    parent,
    child,
    callCount,
    errorCount,
  }));
}

function assertGraphMatches(store: SpanStore, spans: readonly Span[], label: string): void {
  const ranges: Array<[number, number]> = [
    [T0_US - MINUTE_US, T0_US + 10 * MINUTE_US],
    [T0_US + 30_000_000, T0_US + 3 * MINUTE_US + 1],
    [T0_US + MINUTE_US - 1, T0_US + 2 * MINUTE_US],
    [T0_US + 61_234_567, T0_US + 61_934_567],
    [Math.floor(T0_US / MINUTE_US) * MINUTE_US, Math.floor(T0_US / MINUTE_US) * MINUTE_US + 4 * MINUTE_US - 1],
  ];
  for (const [a, b] of ranges) {
    assert.deepEqual(store.dependencies(a, b), expectedEdges(spans, a, b), `${label}: [${a - T0_US}, ${b - T0_US}]`);
  }
}

describe('catalogs kept per batch (schema v6)', () => {
  test('the service graph from the per-minute rollup equals an aggregation of the stored spans, for any range', () => {
    const store = openTempStore();
    try {
      const spans = traffic(3000, 5);
      for (let i = 0; i < spans.length; i += 700) store.insertSpans(spans.slice(i, i + 700));
      assert.equal(store.stats().spanCount, spans.length);
      assertGraphMatches(store, spans, 'after insert');
    } finally {
      store.close();
      removeStoreDir(store);
    }
  });

  test('replacing spans (same identity, other service or status) moves their calls and operations', () => {
    const store = openTempStore();
    try {
      const spans = traffic(400, 3);
      store.insertSpans(spans);
      const changed = spans.map((s, i) => (i % 5 === 0 ? { ...s, service: `${s.service}-v2`, name: 'GET /v2', status: 'error' as const } : s));
      store.insertSpans(changed.slice(0, 200));
      store.insertSpans(changed.slice(200)); // the rest again: replaced by themselves
      assert.equal(store.stats().spanCount, spans.length, 'replacements are not new spans');
      assertGraphMatches(store, changed, 'after replacement');
      assert.ok(store.services().includes('frontend-v2'));
      const ops = new Set(changed.map((s) => `${s.service}|${s.name}|${s.kind}`));
      for (const service of store.services()) {
        for (const op of store.operations(service)) assert.ok(ops.has(`${service}|${op.name}|${op.spanKind}`), `stale operation ${service} ${op.name}`);
      }
    } finally {
      store.close();
      removeStoreDir(store);
    }
  });

  test('replacing spans that change only their status moves their errors (same duration, bytes and edge)', () => {
    const store = openTempStore();
    try {
      const spans = traffic(200, 2);
      store.insertSpans(spans);
      const flipped = spans.map((s) => ({ ...s, status: s.status === 'error' ? ('unset' as const) : ('error' as const) }));
      store.insertSpans(flipped);
      assertGraphMatches(store, flipped, 'after a status-only replacement');
      store.insertSpans(spans);
      assertGraphMatches(store, spans, 'after flipping back');
    } finally {
      store.close();
      removeStoreDir(store);
    }
  });

  test('names that join to the same text stay distinct operations and edges within one batch', () => {
    const store = openTempStore();
    try {
      // ('ab', 'c') and ('a', 'bc') are one string when joined; the catalog keys must not join them.
      const spans = [
        ...Object.values(makeCall({ traceId: traceIdOf(1), caller: 'ab', callee: 'c', name: 'x:y', startTimeUs: T0_US, durationNs: 1_000_000 })),
        ...Object.values(makeCall({ traceId: traceIdOf(2), caller: 'a', callee: 'bc', name: 'x', startTimeUs: T0_US + 1, durationNs: 2_000_000 })),
        makeSpan({ traceId: traceIdOf(3), service: 'ab', name: 'x', startTimeUs: T0_US + 2 }),
        makeSpan({ traceId: traceIdOf(4), service: 'ab', name: 'x:y', kind: 'client', startTimeUs: T0_US + 3 }),
      ];
      store.insertSpans(spans);
      assert.deepEqual(store.services(), ['a', 'ab', 'bc', 'c']);
      const ops = (service: string) => store.operations(service).map((o) => `${o.name}/${o.spanKind}`).sort();
      assert.deepEqual(ops('ab'), ['x/server', 'x:y/client']);
      assert.deepEqual(ops('a'), ['x/client']);
      assert.deepEqual(ops('c'), ['x:y/server']);
      assertGraphMatches(store, spans, 'joined names');
    } finally {
      store.close();
      removeStoreDir(store);
    }
  });

  test('after retention the counter, the operations and the rollup match what is left', () => {
    const store = openTempStore({ retention: { maxAgeMs: 3 * 60_000 } });
    try {
      const spans = traffic(3000, 5);
      for (let i = 0; i < spans.length; i += 1000) store.insertSpans(spans.slice(i, i + 1000));
      // Cut in the middle of a minute, in several batches.
      const nowUs = T0_US + 5 * MINUTE_US + 30_000_000;
      let result;
      do result = store.applyRetention(nowUs, { batchSize: 250, maxBatches: 3 });
      while (!result.complete);
      const left = spans.filter((s) => s.startTimeUs >= nowUs - 3 * MINUTE_US);
      assert.ok(left.length > 0 && left.length < spans.length);
      assert.equal(store.stats().spanCount, left.length);
      assertGraphMatches(store, left, 'after retention');
      const db = new Database(store.path, { readonly: true });
      try {
        const rollupCalls = db.prepare('SELECT SUM(calls) FROM edge_minutes').pluck().get() as number;
        assert.equal(rollupCalls, expectedEdges(left, 0, Number.MAX_SAFE_INTEGER).reduce((n, e) => n + e.callCount, 0));
        assert.equal(db.prepare('SELECT COUNT(*) FROM edge_minutes WHERE spans <= 0').pluck().get(), 0, 'no empty rollup rows left');
        assert.equal(db.prepare('SELECT SUM(spans) FROM edge_minutes').pluck().get(), left.length, 'every span is in its edge row');
      } finally {
        db.close();
      }
    } finally {
      store.close();
      removeStoreDir(store);
    }
  });
});

describe('service graph latency over large ranges (rollup histograms)', () => {
  test('above EXACT_MAX_SPANS: exact counts, percentiles within 1%, minute-aligned edge series that add up', () => {
    const store = openTempStore();
    try {
      const spans = traffic(16_000, 10);
      assert.ok(spans.length > EXACT_MAX_SPANS + 5000);
      for (let i = 0; i < spans.length; i += 2000) store.insertSpans(spans.slice(i, i + 2000));
      const [a, b] = [T0_US + 12_345_678, T0_US + 9 * MINUTE_US + 1_234];
      const inRange = spans.filter((s) => s.startTimeUs >= a && s.startTimeUs <= b);
      assert.ok(inRange.length > EXACT_MAX_SPANS, 'the range is large');
      const exact = aggregateDependencies(inRange.map(sample));
      const approx = store.dependencyStats(a, b);
      assert.deepEqual(
        approx.map(({ parent, child, callCount, errorCount, requestBytes, responseBytes }) => ({ parent, child, callCount, errorCount, requestBytes, responseBytes })),
        exact.map(({ parent, child, callCount, errorCount, requestBytes, responseBytes }) => ({ parent, child, callCount, errorCount, requestBytes, responseBytes })),
      );
      for (const [i, e] of exact.entries()) {
        for (const side of ['client', 'server'] as const) {
          const want = e[side];
          const got = approx[i]![side];
          assert.equal(got?.count, want?.count, `${e.parent}->${e.child} ${side} count`);
          if (!want || !got) continue;
          for (const p of ['p50Ns', 'p95Ns', 'p99Ns'] as const) {
            assert.ok(Math.abs(got[p] - want[p]) <= want[p] * 0.0101, `${e.parent}->${e.child} ${side} ${p}: ${got[p]} vs ${want[p]}`);
          }
        }
      }
      // Edge series, 2-minute step: buckets on whole minutes, the first from the range start.
      const series = store.edgeTimeseries(a, b, 2 * MINUTE_US);
      const grid = Math.floor(a / MINUTE_US) * MINUTE_US;
      const bucket = (t: number): number => Math.max(a, grid + Math.floor((t - grid) / (2 * MINUTE_US)) * 2 * MINUTE_US);
      for (const e of exact) {
        const s = series.find((x) => x.parent === e.parent && x.child === e.child);
        assert.ok(s, `${e.parent}->${e.child} has a series`);
        assert.equal(s.points.reduce((n, p) => n + p.callCount, 0), e.callCount);
        for (const p of s.points) {
          const want = aggregateDependencies(inRange.filter((x) => bucket(x.startTimeUs) === p.tUs).map(sample)).find((x) => x.parent === e.parent && x.child === e.child);
          assert.equal(p.callCount, want?.callCount, `bucket ${p.tUs - a}`);
          assert.equal(p.errorCount, want?.errorCount);
        }
      }
      // A small range stays exact, percentiles included.
      const [c, d] = [T0_US + MINUTE_US, T0_US + MINUTE_US + 20_000_000];
      assert.deepEqual(store.dependencyStats(c, d), aggregateDependencies(spans.filter((s) => s.startTimeUs >= c && s.startTimeUs <= d).map(sample)));
    } finally {
      store.close();
      removeStoreDir(store);
    }
  });
});

describe('compact span encoding', () => {
  test('round-trips every field, optional and unknown ones included', () => {
    const span = makeSpan({
      traceId: traceIdOf(42),
      parentSpanId: '00000000000000aa',
      statusMessage: 'boom',
      status: 'error',
      parentLink: { traceId: traceIdOf(42), spanId: '00000000000000aa', method: 'socket-join', confidence: 0.5, alternatives: 2 },
      traceContext: { source: 'b3', traceId: traceIdOf(42), callerSpanId: '00000000000000aa', sampled: false },
      traceIdSource: 'b3',
      attributes: { 'http.request.method': 'PUT', '~tilde': 'x', '~~two': 1, '~3': true, 'url.path': '/a', 'app.ratio': 0.25 },
      process: { containerId: 'abc123', commandLine: 'node a.js' },
      network: { truncated: true, captureSource: 'tls' },
    });
    const withFuture = { ...span, rpc: { system: 'grpc', method: 'Get' } } as Span;
    assert.deepEqual(decodeSpan(encodeSpan(withFuture)), withFuture);
    assert.ok(encodeSpan(span).length < JSON.stringify(span).length * 0.8, 'smaller than plain JSON');
    assert.deepEqual(decodeSpan(JSON.stringify(span)), span, 'plain JSON rows (before the encoding) still read');

    const store = openTempStore();
    try {
      store.insertSpans([span]);
      assert.deepEqual(store.getTrace(traceIdOf(42)), [span]);
      // Attribute search sees the encoded keys, dictionary and escaped ones alike.
      for (const [key, value] of [['http.request.method', 'PUT'], ['~tilde', 'x'], ['~~two', '1'], ['~3', 'true'], ['app.ratio', '0.25']] as const) {
        assert.deepEqual(store.findTraces({ tags: { [key]: value }, limit: 5 }), [traceIdOf(42)], key);
      }
      assert.deepEqual(store.findTraces({ tags: { '~tilde': 'y' }, limit: 5 }), []);
    } finally {
      store.close();
      removeStoreDir(store);
    }
  });
});

describe('edge protocols (schema v7)', () => {
  test('each edge lists the protocols its calls used, across agents of one store, pruned by retention', () => {
    const store = openTempStore();
    try {
      const call = (n: number, caller: string, callee: string, attributes: Span['attributes'], startTimeUs: number): Span[] => {
        const { client, server } = makeCall({ traceId: traceIdOf(n), caller, callee, startTimeUs, durationNs: 1_000_000 });
        return [{ ...client, attributes: { ...client.attributes, ...attributes } }, { ...server, attributes: { ...server.attributes, ...attributes } }];
      };
      const http1 = { 'network.protocol.name': 'http', 'network.protocol.version': '1.1' };
      const grpc = { 'network.protocol.name': 'http', 'network.protocol.version': '2', 'rpc.system': 'grpc' };
      const pg = { 'db.system.name': 'postgresql', 'network.protocol.name': 'postgresql' };
      store.insertSpans([
        ...call(1, 'frontend', 'orders', http1, T0_US),
        ...call(2, 'frontend', 'shipping', grpc, T0_US + 1000),
        ...call(3, 'frontend', 'shipping', http1, T0_US + 2000),
        ...call(4, 'orders', 'postgres', pg, T0_US + 3000),
      ]);
      const byEdge = new Map(store.dependencyStats(T0_US, T0_US + 60_000_000).map((e) => [`${e.parent}->${e.child}`, e.protocol]));
      assert.equal(byEdge.get('frontend->orders'), 'http/1.1');
      assert.equal(byEdge.get('frontend->shipping'), 'grpc, http/1.1');
      assert.equal(byEdge.get('orders->postgres'), 'postgresql');
      // A range starting after an edge's protocol was last seen does not claim it.
      const later = new Map(store.dependencyStats(T0_US + 2500, T0_US + 60_000_000).map((e) => [`${e.parent}->${e.child}`, e.protocol]));
      assert.equal(later.get('orders->postgres'), 'postgresql');
      assert.equal(later.get('frontend->orders'), undefined);
    } finally {
      store.close();
      removeStoreDir(store);
    }
  });
});
