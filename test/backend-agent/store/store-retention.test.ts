import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import Database from 'better-sqlite3';
import type { Span } from '../../../backend-agent/src/model/span.js';
import { openStore } from '../../../backend-agent/src/store/index.js';
import { T0_US, makeSpan, traceIdOf } from '../fixtures/spans.js';
import { openTempStore, removeStoreDir } from '../fixtures/temp-store.js';

const MINUTE_US = 60_000_000;

/** n spans one second apart from `startUs`, each carrying ~`padBytes` of attributes. */
function spansOverTime(n: number, startUs: number, padBytes = 0, service = 'svc'): Span[] {
  const pad = 'x'.repeat(padBytes);
  return Array.from({ length: n }, (_, i) =>
    makeSpan({
      traceId: traceIdOf(startUs / 1000 + i),
      service,
      name: `GET /op/${i % 5}`,
      startTimeUs: startUs + i * 1_000_000,
      attributes: { 'http.request.method': 'GET', 'url.path': `/op/${i % 5}`, 'app.padding': pad },
    }),
  );
}

function insertInBatches(store: { insertSpans(s: Span[]): void }, spans: Span[], batch = 1000): void {
  for (let i = 0; i < spans.length; i += batch) store.insertSpans(spans.slice(i, i + batch));
}

describe('retention', () => {
  test('by age: deletes spans older than maxAge and prunes their operations', () => {
    const store = openTempStore({ retention: { maxAgeMs: 30 * 60_000 } });
    const nowUs = T0_US + 60 * MINUTE_US;
    const old = spansOverTime(50, T0_US, 0, 'old-service'); // ~1 hour ago
    const recent = spansOverTime(20, nowUs - 10 * MINUTE_US, 0, 'recent-service');
    store.insertSpans([...old, ...recent]);
    assert.deepEqual(store.services(), ['old-service', 'recent-service']);

    const result = store.applyRetention(nowUs);
    assert.deepEqual(result, { deleted: 50, complete: true });
    assert.equal(store.stats().spanCount, 20);
    assert.equal(store.stats().oldestStartTimeUs, nowUs - 10 * MINUTE_US);
    assert.deepEqual(store.services(), ['recent-service'], 'operations of deleted spans are gone');
    assert.deepEqual(store.applyRetention(nowUs), { deleted: 0, complete: true }, 'idempotent');
    store.close();
    removeStoreDir(store);
  });

  test('by age in bounded batches: reports incomplete until done', () => {
    const store = openTempStore({ retention: { maxAgeMs: 1000 } });
    store.insertSpans(spansOverTime(250, T0_US));
    const nowUs = T0_US + 10 * 24 * 60 * MINUTE_US;
    assert.deepEqual(store.applyRetention(nowUs, { batchSize: 100, maxBatches: 2 }), { deleted: 200, complete: false });
    assert.equal(store.stats().spanCount, 50);
    assert.deepEqual(store.applyRetention(nowUs, { batchSize: 100, maxBatches: 2 }), { deleted: 50, complete: true });
    assert.equal(store.stats().spanCount, 0);
    store.close();
    removeStoreDir(store);
  });

  test('by size: deletes the oldest spans until the file is under the cap, and the file really shrinks', () => {
    const filler = openTempStore();
    const spans = spansOverTime(6000, T0_US, 1000);
    insertInBatches(filler, spans);
    filler.close(); // checkpoints the WAL into the file
    const fullSize = fs.statSync(filler.path).size;
    assert.ok(fullSize > 6_000_000, `seeded file is ${fullSize} bytes`);

    const cap = Math.floor(fullSize / 3);
    const store = openStore({ path: filler.path, retention: { maxSizeBytes: cap } });
    let deleted = 0;
    for (let round = 0; round < 20; round++) {
      const result = store.applyRetention(T0_US + 7000 * 1_000_000);
      deleted += result.deleted;
      if (result.complete) break;
    }
    const stats = store.stats();
    assert.ok(stats.sizeBytes <= cap, `store size ${stats.sizeBytes} under cap ${cap}`);
    assert.ok(fs.statSync(store.path).size <= cap, `file size ${fs.statSync(store.path).size} under cap ${cap}`);
    assert.equal(stats.spanCount, 6000 - deleted);
    assert.ok(deleted >= 3000 && deleted < 6000, `deleted ${deleted}`);
    // Oldest first: what is left is the most recent spans.
    assert.equal(stats.newestStartTimeUs, spans[5999]!.startTimeUs);
    assert.equal(stats.oldestStartTimeUs, spans[deleted]!.startTimeUs);
    assert.equal(store.getTrace(spans[0]!.traceId).length, 0);
    assert.equal(store.getTrace(spans[5999]!.traceId).length, 1);
    // Ingest keeps working afterwards.
    store.insertSpans(spansOverTime(10, T0_US + 8000 * 1_000_000, 10));
    store.close();
    removeStoreDir(store);
  });

  test('at its cap a store reuses freed pages: the file stays under the cap without vacuuming what new spans will fill', () => {
    const filler = openTempStore();
    insertInBatches(filler, spansOverTime(3000, T0_US, 1000));
    filler.close();
    const cap = Math.floor(fs.statSync(filler.path).size * 0.6);
    const store = openStore({ path: filler.path, retention: { maxSizeBytes: cap } });
    const db = new Database(store.path, { readonly: true });
    const pragma = (name: string) => db.pragma(name, { simple: true }) as number;
    const retain = (nowUs: number) => {
      for (let round = 0; round < 50; round++) if (store.applyRetention(nowUs).complete) return;
      assert.fail('retention did not complete');
    };
    retain(T0_US + 3000 * 1_000_000);
    let next = 3000;
    let keptFree = 0;
    for (let cycle = 0; cycle < 6; cycle++) {
      const fresh = spansOverTime(400, T0_US + next * 1_000_000, 1000);
      next += 400;
      insertInBatches(store, fresh, 200);
      retain(T0_US + next * 1_000_000);
      const size = pragma('page_count') * pragma('page_size');
      assert.ok(size <= cap, `cycle ${cycle}: main file ${size} within cap ${cap}`);
      assert.equal(store.getTrace(fresh[399]!.traceId).length, 1, 'the newest spans are kept');
      keptFree = Math.max(keptFree, pragma('freelist_count'));
    }
    // Free pages stay in the file for the next inserts (only pages beyond the cap are vacuumed).
    assert.ok(keptFree > 0, 'freed pages were kept for reuse');
    const stats = store.stats();
    assert.ok(stats.spanCount > 0 && stats.spanCount < next, `${stats.spanCount} spans left of ${next}`);
    db.close();
    store.close();
    removeStoreDir(store);
  });

  test('by age without a cap: free pages are kept for reuse until they are a large share of the file', () => {
    const store = openTempStore({ retention: { maxAgeMs: 60 * 60_000 } });
    insertInBatches(store, spansOverTime(2000, T0_US, 1000));
    const db = new Database(store.path, { readonly: true });
    const pragma = (name: string) => db.pragma(name, { simple: true }) as number;
    // 10% of the spans age out: their pages stay free in the file.
    store.applyRetention(T0_US + 200 * 1_000_000 + 60 * MINUTE_US);
    const pagesAfterSmall = pragma('page_count');
    assert.ok(pragma('freelist_count') > 0, 'a small deletion keeps its pages for reuse');
    // 90% aged out: most of the file is free, so it is given back down to a tenth.
    for (let round = 0; round < 20; round++) if (store.applyRetention(T0_US + 1800 * 1_000_000 + 60 * MINUTE_US).complete) break;
    assert.ok(pragma('page_count') < pagesAfterSmall / 2, `file shrank: ${pragma('page_count')} pages of ${pagesAfterSmall}`);
    assert.ok(pragma('freelist_count') <= Math.ceil(pragma('page_count') * 0.1) + 1, 'at most a tenth left free');
    assert.equal(store.stats().spanCount, 200);
    db.close();
    store.close();
    removeStoreDir(store);
  });

  test('by age under a large size cap: a store that age retention emptied gives its free pages back', () => {
    const store = openTempStore({ retention: { maxAgeMs: 60 * 60_000, maxSizeBytes: 1024 * 1024 * 1024 } });
    insertInBatches(store, spansOverTime(2000, T0_US, 1000));
    const db = new Database(store.path, { readonly: true });
    const pragma = (name: string) => db.pragma(name, { simple: true }) as number;
    const before = pragma('page_count');
    for (let round = 0; round < 20; round++) if (store.applyRetention(T0_US + 1800 * 1_000_000 + 60 * MINUTE_US).complete) break;
    assert.equal(store.stats().spanCount, 200);
    assert.ok(pragma('page_count') < before / 2, `file shrank under a cap it is far from: ${pragma('page_count')} pages of ${before}`);
    db.close();
    store.close();
    removeStoreDir(store);
  });

  test('without a policy nothing is deleted', () => {
    const store = openTempStore();
    store.insertSpans(spansOverTime(10, T0_US));
    assert.deepEqual(store.applyRetention(T0_US * 2), { deleted: 0, complete: true });
    store.close();
    removeStoreDir(store);
  });
});
