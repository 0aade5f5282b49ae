import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import type { Span } from '../../../backend-agent/src/model/span.js';
import { SpanWriter } from '../../../backend-agent/src/spans/span-writer.js';
import { StoreWriteError, openStore } from '../../../backend-agent/src/store/index.js';
import { spanToRow } from '../../../backend-agent/src/store/span-row.js';
import { createLogger } from '../../../backend-agent/src/util/log.js';
import { T0_US, makeCall, traceIdOf } from '../fixtures/spans.js';
import { openTempStore, removeStoreDir } from '../fixtures/temp-store.js';

// The SpanWriter hands the store rows it prepared when each span arrived
// (prepareSpan, insertPrepared): the result must be what insertSpans stores.

const quiet = createLogger('error', () => {});

function calls(n: number): Span[] {
  const spans: Span[] = [];
  for (let i = 0; i < n; i++) {
    const c = makeCall({ traceId: traceIdOf(i + 1), caller: 'frontend', callee: 'orders', startTimeUs: T0_US + i * 1000, durationNs: 2_000_000 + i });
    c.client.attributes = { ...c.client.attributes, 'network.protocol.name': 'http', 'network.protocol.version': '1.1' };
    spans.push(c.client, c.server);
  }
  return spans;
}

test('spans written through the writer (prepared rows) read back as insertSpans stores them', () => {
  const direct = openTempStore();
  const prepared = openTempStore();
  try {
    const spans = calls(30);
    direct.insertSpans(spans);
    const w = new SpanWriter(prepared, quiet);
    w.add(spans.slice(0, 7));
    w.add(spans.slice(7));
    w.flush();
    assert.equal(w.written, spans.length);
    for (let i = 1; i <= 30; i++) assert.deepEqual(prepared.getTrace(traceIdOf(i)), direct.getTrace(traceIdOf(i)));
    assert.equal(prepared.stats().spanCount, direct.stats().spanCount);
    assert.deepEqual(prepared.operations('frontend'), direct.operations('frontend'));
    const range: [number, number] = [T0_US - 60_000_000, T0_US + 60_000_000];
    const stats = prepared.dependencyStats(...range);
    assert.deepEqual(stats, direct.dependencyStats(...range));
    assert.equal(stats[0]?.protocol, 'http/1.1', 'the protocol computed at prepare time reaches the edge catalog');
  } finally {
    direct.close();
    prepared.close();
    removeStoreDir(direct);
    removeStoreDir(prepared);
  }
});

test('re-storing prepared rows replaces, as insertSpans does', () => {
  const store = openTempStore();
  try {
    const spans = calls(3);
    store.insertPrepared(spans.map((s) => store.prepareSpan(s)));
    const renamed = spans.map((s) => ({ ...s, name: 'GET /renamed' }));
    store.insertPrepared(renamed.map((s) => store.prepareSpan(s)));
    assert.equal(store.stats().spanCount, 6);
    assert.deepEqual(store.getTrace(traceIdOf(1)).map((s) => s.name), ['GET /renamed', 'GET /renamed']);
    assert.deepEqual(store.operations('frontend').map((o) => o.name), ['GET /renamed']);
  } finally {
    store.close();
    removeStoreDir(store);
  }
});

test('a read-only store refuses prepared rows like spans', () => {
  const store = openTempStore();
  store.insertSpans(calls(1));
  store.close();
  const ro = openStore({ path: store.path, retention: {}, readonly: true });
  try {
    const row = ro.prepareSpan(calls(1)[0]!);
    assert.throws(() => ro.insertPrepared([row]), StoreWriteError);
  } finally {
    ro.close();
    removeStoreDir(store);
  }
});

// A batch mixing new spans, spans stored before and identities repeated
// within it must store what inserting its spans one at a time stores (the
// catalogs are updated once per batch: span-insert.ts, catalog.ts).
test('a batch with stored and repeated identities stores what one span at a time stores', () => {
  const batched = openTempStore();
  const oneByOne = openTempStore();
  try {
    const spans = calls(50); // 100 spans, 50 traces
    const renamed = (s: Span): Span => ({ ...s, name: 'GET /renamed' });
    const failed = (s: Span): Span => ({ ...s, status: 'error', durationNs: s.durationNs * 3 });
    const batches: Span[][] = [
      spans.slice(0, 50),
      // Starts with 20 stored identities, then new ones; some identities twice, the second time changed.
      [...spans.slice(30, 70), ...spans.slice(55, 60).map(failed), ...spans.slice(60, 64).map(renamed), ...spans.slice(70, 100)],
      // 32 identities all stored before: the batch inserts nothing.
      spans.slice(0, 32).map(renamed),
      // One identity three times within a batch.
      [...spans.slice(90, 100), spans[95]!, failed(spans[95]!), renamed(spans[95]!), ...spans.slice(10, 30)],
    ];
    for (const batch of batches) {
      batched.insertPrepared(batch.map((s) => batched.prepareSpan(s)));
      for (const s of batch) oneByOne.insertSpans([s]);
    }
    assert.equal(batched.stats().spanCount, 100);
    assert.equal(batched.stats().spanCount, oneByOne.stats().spanCount);
    for (let i = 1; i <= 50; i++) assert.deepEqual(batched.getTrace(traceIdOf(i)), oneByOne.getTrace(traceIdOf(i)), `trace ${i}`);
    assert.equal(batched.getTrace(traceIdOf(48))[1]?.name, 'GET /renamed', 'the last of the repeated identity wins');
    for (const service of ['frontend', 'orders']) assert.deepEqual(batched.operations(service), oneByOne.operations(service));
    const range: [number, number] = [T0_US - 60_000_000, T0_US + 60_000_000];
    assert.deepEqual(batched.dependencyStats(...range), oneByOne.dependencyStats(...range));
    assert.deepEqual(batched.edgeTimeseries(range[0], range[1], 60_000_000), oneByOne.edgeTimeseries(range[0], range[1], 60_000_000));
  } finally {
    batched.close();
    oneByOne.close();
    removeStoreDir(batched);
    removeStoreDir(oneByOne);
  }
});

// The identity index holds hashes of the identity (row-keys.ts, schema v8).
// Two identities with the same keys must both be stored, each replaceable
// by its own later copy only. A real collision is a 2^-52 event, so the test
// makes one: it gives a stored row the keys the next span will have.
test('spans whose identity keys collide are both stored; each copy replaces only its own span', () => {
  const store = openTempStore();
  const db = new Database(store.path);
  try {
    const [a, b] = calls(1) as [Span, Span];
    store.insertSpans([a]);
    const keysOfB = spanToRow(b);
    db.prepare('UPDATE spans SET trace_key = ?, span_key = ?').run(keysOfB.trace_key, keysOfB.span_key);
    store.insertSpans([b]);
    assert.equal(store.stats().spanCount, 2);
    assert.deepEqual(store.getTrace(traceIdOf(1)), [a, b]);
    const movedKey = db.prepare<[string], number>('SELECT span_key FROM spans WHERE kind = ?').pluck().get(b.kind);
    assert.equal(movedKey, keysOfB.span_key + 1, 'the later span takes the next key');

    const b2 = { ...b, name: 'GET /b-again', status: 'error' as const };
    store.insertSpans([b2]);
    assert.equal(store.stats().spanCount, 2);
    assert.deepEqual(store.getTrace(traceIdOf(1)), [a, b2]);
    assert.deepEqual(store.searchSpans({ traceId: traceIdOf(1), limit: 10 }).length, 2);
  } finally {
    db.close();
    store.close();
    removeStoreDir(store);
  }
});
