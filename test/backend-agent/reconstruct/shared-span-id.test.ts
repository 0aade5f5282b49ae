/**
 * Regression: parent links were resolved by span id alone, so two traces
 * that share a span id (a colliding or replayed header, seen in fuzzing)
 * merged into one tree when both fell in one query window. A parent is a
 * span of a trace, so links resolve by (trace id, span id) for header links
 * and to the exact span an inference chose for inferred ones.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Span } from '../../../backend-agent/src/model/span.js';
import { openStore, type SpanStore } from '../../../backend-agent/src/store/index.js';
import { assembleTrace, buildTrace, buildTraces, traceComponents } from '../../../backend-agent/src/reconstruct/index.js';
import { T0_US, makeCall, spanIdOf, traceIdOf } from '../fixtures/spans.js';
import { call, side } from './link-fixtures.js';

const SHARED = spanIdOf(0xabc);
const T1 = traceIdOf(0x101);
const T2 = traceIdOf(0x202);

/** A header-propagated call in trace `traceId` whose client span id is SHARED; the server stores SHARED as its parent. */
function sharedCall(traceId: string, startUs: number, pids: [number, number], ports: [number, number]): Span[] {
  const { client, server } = makeCall({ traceId, caller: `caller-${pids[0]}`, callee: `callee-${pids[1]}`, startTimeUs: startUs, durationNs: 2_000_000, callerPid: pids[0], calleePid: pids[1], callerSpanId: SHARED });
  const net = (s: Span, local: number, remote: number): Span => ({ ...s, network: { ...s.network, connectionId: `${traceId}-${s.kind}`, local: { address: '127.0.0.1', port: local }, remote: { address: '127.0.0.1', port: remote } } });
  // As ingest stores it: the server's parent is the id its header named.
  return [net(client, ports[0], ports[1]), { ...net(server, ports[1], ports[0]), parentSpanId: SHARED, parentLink: { traceId, spanId: SHARED, method: 'header', confidence: 1 } }];
}

const dirs: string[] = [];
function storeWith(spans: Span[]): SpanStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretrace-shared-id-'));
  dirs.push(dir);
  const store = openStore({ path: path.join(dir, 'spans.db'), retention: {} });
  store.insertSpans(spans);
  return store;
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('two traces sharing a span id', () => {
  // Overlapping in time, so one query window holds both.
  const spans = [...sharedCall(T1, T0_US, [100, 200], [41000, 8080]), ...sharedCall(T2, T0_US + 300, [300, 400], [42000, 9090])];

  test('assembly and components keep them apart', () => {
    const trees = traceComponents(assembleTrace(spans));
    assert.deepEqual(trees.map((t) => [t.traceId, t.spans.length]).sort(), [
      [T1, 2],
      [T2, 2],
    ]);
    for (const tree of trees) for (const s of tree.spans) assert.equal(s.traceId, tree.traceId);
  });

  test('the same holds when the servers name their parent only through the header (parent filled at assembly)', () => {
    const unlinked = spans.map((s) => {
      const copy = { ...s };
      delete copy.parentSpanId;
      delete copy.parentLink;
      return copy;
    });
    const assembled = assembleTrace(unlinked);
    for (const s of assembled.filter((x) => x.kind === 'server')) assert.equal(s.parentSpanId, SHARED, 'the header link is still made');
    assert.equal(traceComponents(assembled).length, 2);
  });

  test('a header naming a caller that was not captured still links, even when another trace holds that id', () => {
    // T1's caller is outside the window; T2's client span has the id T1's header names.
    const [, t1Server] = sharedCall(T1, T0_US, [100, 200], [41000, 8080]);
    const headerOnly = { ...t1Server! };
    delete headerOnly.parentSpanId;
    delete headerOnly.parentLink;
    const assembled = assembleTrace([headerOnly, ...sharedCall(T2, T0_US + 300, [300, 400], [42000, 9090])]);
    const server = assembled.find((s) => s.traceId === T1)!;
    assert.equal(server.parentSpanId, SHARED, 'the header link is made');
    assert.equal(server.parentLink?.traceId, T1, 'to a span of its own trace');
    assert.deepEqual(traceComponents(assembled).map((t) => [t.traceId, t.spans.length]).sort(), [
      [T1, 1],
      [T2, 2],
    ]);
  });

  test('a query for either trace returns only that trace', () => {
    const store = storeWith(spans);
    try {
      for (const id of [T1, T2]) {
        const built = buildTrace(store, id)!;
        assert.equal(built.traceId, id);
        assert.deepEqual(built.memberTraceIds, [id]);
        assert.equal(built.spans.length, 2, `${id}: ${built.spans.map((s) => s.traceId).join(',')}`);
      }
      assert.deepEqual(
        buildTraces(store, [T1, T2]).map((t) => [t.traceId, t.spans.length]),
        [
          [T1, 2],
          [T2, 2],
        ],
      );
    } finally {
      store.close();
    }
  });

  test('inferred links still join header-less hops across stored trace ids', () => {
    // A header-less caller (its own derived trace id) whose client span is
    // socket-joined to a server span: joining different stored ids is the point
    // of inference, and must keep working.
    const chain = call(1, { pid: 10 }, { pid: 20 }, 0, 10_000, 8080, 40000);
    const trees = traceComponents(assembleTrace(chain));
    assert.equal(trees.length, 1);
    assert.equal(trees[0]!.traceId, traceIdOf(1));
  });

  test('an inferred link to a span whose id another trace also holds picks the span it chose', () => {
    // Header-less server 1 (pid 20) makes a call (client 2) in the same thread;
    // a header trace T2 holds a span with the same id as server 1.
    const parent = side({ n: 1, kind: 'server', pid: 20, startUs: 0, durationUs: 10_000, local: 8080, remote: 40000 });
    const child = side({ n: 2, kind: 'client', pid: 20, startUs: 1000, durationUs: 2000, local: 45000, remote: 9090 });
    const impostor: Span = { ...side({ n: 3, kind: 'client', pid: 99, startUs: 500, durationUs: 100, local: 46000, remote: 7070 }), traceId: T2, spanId: parent.spanId, traceIdSource: 'w3c' };
    const other: Span = { ...side({ n: 4, kind: 'server', pid: 98, startUs: 520, durationUs: 50, local: 7070, remote: 46000 }), traceId: T2, traceIdSource: 'w3c' };
    const trees = traceComponents(assembleTrace([impostor, other, parent, child]));
    const mine = trees.find((t) => t.spans.some((s) => s.spanId === child.spanId))!;
    assert.deepEqual(mine.spans.map((s) => s.spanId).sort(), [parent.spanId, child.spanId].sort());
    assert.equal(mine.traceId, traceIdOf(1));
  });
});
