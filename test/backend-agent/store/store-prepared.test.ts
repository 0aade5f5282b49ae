import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Span } from '../../../backend-agent/src/model/span.js';
import { SpanWriter } from '../../../backend-agent/src/spans/span-writer.js';
import { StoreWriteError, openStore } from '../../../backend-agent/src/store/index.js';
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
