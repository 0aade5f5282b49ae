import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Span } from '../../../backend-agent/src/model/span.js';
import { openStore, type SpanStore } from '../../../backend-agent/src/store/index.js';
import { assembleTrace, buildTrace, buildTraces, traceComponents, type CandidateSource } from '../../../backend-agent/src/reconstruct/index.js';
import { spanIdOf, traceIdOf } from '../fixtures/spans.js';
import { byId, call, side } from './link-fixtures.js';

/**
 * A header-less chain A -> B -> C on one host: the load generator (pid 10)
 * calls B (pid 20, thread-per-request) which calls C (pid 30). Every span has
 * its own derived trace id.
 */
function chain(offsetUs: number, base: number): Span[] {
  return [
    ...call(base + 1, { pid: 10 }, { pid: 20, tid: 201 }, offsetUs, 10_000, 8080, 40000 + base),
    side({ n: base + 3, kind: 'client', pid: 20, tid: 201, startUs: offsetUs + 1000, durationUs: 3000, local: 45000 + base, remote: 9090 }),
    side({ n: base + 4, kind: 'server', pid: 30, startUs: offsetUs + 1050, durationUs: 2900, local: 9090, remote: 45000 + base }),
  ];
}

const dirs: string[] = [];
function storeWith(spans: Span[]): SpanStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretrace-builder-'));
  dirs.push(dir);
  const store = openStore({ path: path.join(dir, 'spans.db'), retention: {} });
  store.insertSpans(spans);
  return store;
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('query-time trace building', () => {
  const spans = [...chain(0, 0), ...chain(50_000, 10)];
  const store = storeWith(spans);

  test('a header-less trace comes back whole, named after its root', () => {
    const built = buildTrace(store, traceIdOf(1))!;
    assert.equal(built.traceId, traceIdOf(1));
    assert.equal(built.spans.length, 4);
    for (const s of built.spans) assert.equal(s.traceId, traceIdOf(1));
    assert.equal(byId(built.spans, 2).parentLink?.method, 'socket-join');
    assert.equal(byId(built.spans, 3).parentLink?.method, 'thread');
    assert.equal(byId(built.spans, 3).parentSpanId, spanIdOf(2));
    assert.equal(byId(built.spans, 4).parentSpanId, spanIdOf(3));
  });

  test('asking for any span\'s own trace id finds the same tree; asking twice gives the same answer', () => {
    const fromRoot = buildTrace(store, traceIdOf(1));
    for (const n of [2, 3, 4]) assert.deepEqual(buildTrace(store, traceIdOf(n)), fromRoot);
    assert.deepEqual(buildTrace(store, traceIdOf(4)), buildTrace(store, traceIdOf(4)));
  });

  test('a search gets each tree once, in the order of its hits', () => {
    const trees = buildTraces(store, [traceIdOf(14), traceIdOf(1), traceIdOf(3), traceIdOf(11)]);
    assert.deepEqual(trees.map((t) => t.traceId), [traceIdOf(11), traceIdOf(1)]);
    assert.equal(trees[0]!.spans.length, 4);
  });

  test('unknown ids give nothing', () => {
    assert.equal(buildTrace(store, traceIdOf(999)), undefined);
    assert.deepEqual(buildTraces(store, [traceIdOf(999)]), []);
  });

  test('reads only a time window around the trace, never the whole store', () => {
    const windows: Array<[number, number]> = [];
    const spy: CandidateSource = {
      getTraces: (ids) => store.getTraces(ids),
      spansStartingBetween: (a, b, n) => {
        windows.push([a, b]);
        return store.spansStartingBetween(a, b, n);
      },
    };
    buildTrace(spy, traceIdOf(1));
    assert.ok(windows.length >= 1);
    const stats = store.stats();
    for (const [a, b] of windows) assert.ok(b - a < 2_000_000 && a > stats.oldestStartTimeUs! - 2_000_000, `window ${a}..${b}`);
  });

  test('traceComponents: a header trace id groups spans even without links', () => {
    const a = { ...side({ n: 1, kind: 'server', pid: 1, startUs: 0, durationUs: 10, local: 1, remote: 2 }), traceId: traceIdOf(77), traceIdSource: 'w3c' as const };
    const b = { ...side({ n: 2, kind: 'server', pid: 2, startUs: 5, durationUs: 10, local: 3, remote: 4 }), traceId: traceIdOf(77), traceIdSource: 'w3c' as const };
    const c = side({ n: 3, kind: 'server', pid: 3, startUs: 5, durationUs: 10, local: 5, remote: 6 });
    const trees = traceComponents(assembleTrace([a, b, c]));
    assert.equal(trees.length, 2);
    assert.deepEqual(trees.map((t) => t.spans.length).sort(), [1, 2]);
  });
});

describe('proxy forwarding a trace header unchanged', () => {
  test('the proxy\'s client span gets its own id and the downstream server is pointed at it by socket', () => {
    const T = traceIdOf(500);
    const ctx = { source: 'w3c' as const, traceId: T, callerSpanId: spanIdOf(0xaa) };
    const headered = (s: Span, extra: Partial<Span> = {}): Span => ({ ...s, traceId: T, traceIdSource: 'w3c', traceContext: ctx, ...extra });
    const spans = [
      // loadgen (pid 10) -> nginx (pid 20) -> frontend (pid 30), the same traceparent on both hops.
      headered(side({ n: 1, kind: 'client', pid: 10, startUs: 0, durationUs: 1000, local: 40001, remote: 8085 }), { spanId: spanIdOf(0xaa) }),
      headered(side({ n: 2, kind: 'server', pid: 20, startUs: 20, durationUs: 960, local: 8085, remote: 40001 }), { parentSpanId: spanIdOf(0xaa) }),
      headered(side({ n: 3, kind: 'client', pid: 20, startUs: 40, durationUs: 900, local: 40002, remote: 8080 }), { spanId: spanIdOf(0xaa) }),
      headered(side({ n: 4, kind: 'server', pid: 30, startUs: 60, durationUs: 860, local: 8080, remote: 40002 }), { parentSpanId: spanIdOf(0xaa) }),
    ];
    const out = assembleTrace(spans);
    const clients = out.filter((s) => s.kind === 'client');
    assert.equal(new Set(clients.map((s) => s.spanId)).size, 2, 'distinct ids');
    const loadgen = clients.find((s) => s.process.pid === 10)!;
    const proxy = clients.find((s) => s.process.pid === 20)!;
    assert.equal(loadgen.spanId, spanIdOf(0xaa));
    const nginxServer = out.find((s) => s.kind === 'server' && s.process.pid === 20)!;
    const frontend = out.find((s) => s.kind === 'server' && s.process.pid === 30)!;
    assert.equal(nginxServer.parentSpanId, loadgen.spanId);
    assert.equal(proxy.parentSpanId, nginxServer.spanId);
    assert.equal(frontend.parentSpanId, proxy.spanId);
  });

  test('the store keeps both client spans (identity includes the process)', () => {
    const T = traceIdOf(501);
    const a = { ...side({ n: 1, kind: 'client', pid: 10, startUs: 0, durationUs: 1000, local: 40001, remote: 8085 }), traceId: T, spanId: spanIdOf(0xab) };
    const b = { ...side({ n: 3, kind: 'client', pid: 20, startUs: 40, durationUs: 900, local: 40002, remote: 8080 }), traceId: T, spanId: spanIdOf(0xab) };
    const store = storeWith([a, b, a]);
    assert.equal(store.getTrace(T).length, 2);
  });
});
