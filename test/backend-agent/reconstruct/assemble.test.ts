import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Span } from '../../../backend-agent/src/model/span.js';
import { assembleTrace, DEFAULT_LAYERS, type LinkLayer } from '../../../backend-agent/src/reconstruct/index.js';
import { T0_US, makeCall, makeSpan, spanIdOf, traceIdOf } from '../fixtures/spans.js';

const TRACE = traceIdOf(42);
const MS_NS = 1_000_000;

function byId(spans: Span[], spanId: string, kind?: Span['kind']): Span {
  const found = spans.find((s) => s.spanId === spanId && (kind === undefined || s.kind === kind));
  assert.ok(found, `span ${spanId} in output`);
  return found;
}

/** A server span of `service` in process `pid`, thread `tid`, from startUs lasting durationNs. */
function server(spanNo: number, pid: number, startUs: number, durationNs: number, tid = pid, host = 'host-a'): Span {
  return makeSpan({
    traceId: TRACE,
    spanId: spanIdOf(spanNo),
    kind: 'server',
    service: `svc-${pid}`,
    startTimeUs: startUs,
    durationNs,
    process: { pid, serviceName: `svc-${pid}`, hostName: host },
    threadId: tid,
  });
}

function client(spanNo: number, pid: number, startUs: number, durationNs: number, tid = pid, host = 'host-a'): Span {
  return { ...server(spanNo, pid, startUs, durationNs, tid, host), kind: 'client', peerService: 'downstream' };
}

/** Deterministic Fisher-Yates shuffle. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let state = seed;
  for (let i = out.length - 1; i > 0; i--) {
    state = (state * 1103515245 + 12345) % 2147483648;
    const j = state % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('assembleTrace: header links', () => {
  test('a server span whose request carried a context is a child of the caller span named in it', () => {
    const { client: c, server: s } = makeCall({ traceId: TRACE, caller: 'frontend', callee: 'orders', startTimeUs: T0_US, durationNs: MS_NS });
    const out = assembleTrace([s, c]);
    const srv = byId(out, s.spanId, 'server');
    assert.equal(srv.parentSpanId, c.spanId, 'joins the local client span exactly');
    assert.deepEqual(srv.parentLink, { traceId: TRACE, spanId: c.spanId, method: 'header', confidence: 1 });
    assert.equal(byId(out, c.spanId, 'client').parentSpanId, undefined);
  });

  test('the link is made even when the caller span was not captured', () => {
    const s = makeSpan({
      traceId: TRACE,
      traceContext: { source: 'b3', traceId: TRACE, callerSpanId: spanIdOf(0xabc) },
      traceIdSource: 'b3',
    });
    assert.equal(assembleTrace([s])[0]!.parentSpanId, spanIdOf(0xabc));
  });

  test('a context from another trace, or naming the span itself, makes no link', () => {
    const other = makeSpan({ traceId: TRACE, traceContext: { source: 'w3c', traceId: traceIdOf(7), callerSpanId: spanIdOf(9) } });
    const self = makeSpan({ traceId: TRACE, spanId: spanIdOf(5), traceContext: { source: 'w3c', traceId: TRACE, callerSpanId: spanIdOf(5) } });
    for (const span of assembleTrace([other, self])) assert.equal(span.parentSpanId, undefined);
  });

  test("a client span's B3 parent id links only when that span is in the trace", () => {
    const parent = server(1, 100, T0_US, 10 * MS_NS);
    const ctx = { source: 'b3' as const, traceId: TRACE, callerSpanId: spanIdOf(2), callerParentSpanId: spanIdOf(1) };
    const c = { ...client(2, 999, T0_US + 1000, MS_NS), traceContext: ctx };
    assert.equal(byId(assembleTrace([parent, c]), spanIdOf(2)).parentLink?.method, 'header');
    const missing = { ...c, traceContext: { ...ctx, callerParentSpanId: spanIdOf(77) } };
    assert.equal(assembleTrace([parent, missing]).find((s) => s.kind === 'client')!.parentSpanId, undefined);
  });

  test('a parent already set on the stored span is kept', () => {
    const s = makeSpan({
      traceId: TRACE,
      parentSpanId: spanIdOf(1),
      traceContext: { source: 'w3c', traceId: TRACE, callerSpanId: spanIdOf(2) },
    });
    assert.equal(assembleTrace([s])[0]!.parentSpanId, spanIdOf(1));
  });
});

describe('assembleTrace: in-process containment', () => {
  test('a client span inside a server span of the same process and thread: method thread', () => {
    const out = assembleTrace([server(1, 100, T0_US, 10 * MS_NS), client(2, 100, T0_US + 2000, 3 * MS_NS)]);
    const c = byId(out, spanIdOf(2));
    assert.equal(c.parentSpanId, spanIdOf(1));
    assert.equal(c.parentLink?.method, 'thread');
    assert.ok(c.parentLink!.confidence < 1 && c.parentLink!.confidence > 0);
  });

  test('another thread of the same process: method timing, lower confidence', () => {
    const out = assembleTrace([server(1, 100, T0_US, 10 * MS_NS, 100), client(2, 100, T0_US + 2000, 3 * MS_NS, 101)]);
    const c = byId(out, spanIdOf(2));
    assert.equal(c.parentSpanId, spanIdOf(1));
    assert.equal(c.parentLink?.method, 'timing');
    const thread = byId(assembleTrace([server(1, 100, T0_US, 10 * MS_NS), client(2, 100, T0_US + 2000, 3 * MS_NS)]), spanIdOf(2));
    assert.ok(c.parentLink!.confidence < thread.parentLink!.confidence);
  });

  test('the tightest containing server span wins', () => {
    const out = assembleTrace([
      server(1, 100, T0_US, 100 * MS_NS),
      server(3, 100, T0_US + 10_000, 40 * MS_NS),
      client(2, 100, T0_US + 20_000, 5 * MS_NS),
    ]);
    assert.equal(byId(out, spanIdOf(2)).parentSpanId, spanIdOf(3));
  });

  test('equal tightness: the server span on the same thread wins, with reduced confidence', () => {
    const spans = [server(1, 100, T0_US, 10 * MS_NS, 7), server(3, 100, T0_US, 10 * MS_NS, 8), client(2, 100, T0_US + 1000, MS_NS, 8)];
    for (let seed = 1; seed < 6; seed++) {
      const c = byId(assembleTrace(shuffled(spans, seed)), spanIdOf(2));
      assert.equal(c.parentSpanId, spanIdOf(3));
      assert.equal(c.parentLink?.method, 'thread');
      assert.ok(Math.abs(c.parentLink!.confidence - 0.85) < 1e-9, 'another request in flight: 0.95 - 0.1');
      assert.equal(c.parentLink?.alternatives, 1);
    }
  });

  test('no link across processes, hosts, or when not contained', () => {
    const cases: Span[][] = [
      [server(1, 100, T0_US, 10 * MS_NS), client(2, 200, T0_US + 1000, MS_NS)], // other pid
      [server(1, 100, T0_US, 10 * MS_NS, 100, 'host-a'), client(2, 100, T0_US + 1000, MS_NS, 100, 'host-b')], // same pid, other host
      [server(1, 100, T0_US + 5000, 10 * MS_NS), client(2, 100, T0_US, MS_NS)], // starts before
      [server(1, 100, T0_US, 10 * MS_NS), client(2, 100, T0_US + 9000, 5 * MS_NS)], // ends after
    ];
    for (const spans of cases) assert.equal(byId(assembleTrace(spans), spanIdOf(2)).parentSpanId, undefined);
  });

  test('tolerates the µs truncation of start times', () => {
    // Server started at 0.9 µs (stored as 0), client at 0.95 µs (stored 0) and ends 0.5 µs after the server.
    const out = assembleTrace([server(1, 100, T0_US, 10_000), client(2, 100, T0_US, 10_500)]);
    assert.equal(byId(out, spanIdOf(2)).parentSpanId, spanIdOf(1));
  });

  test('server spans are never given a containment parent, and links never form cycles', () => {
    // A process calling itself: client C (pid 100) -> server S (pid 100) with equal intervals.
    const { client: c, server: s } = makeCall({
      traceId: TRACE,
      caller: 'self',
      callee: 'self',
      startTimeUs: T0_US,
      durationNs: MS_NS,
      callerPid: 100,
      calleePid: 100,
    });
    const sameInterval = { ...s, startTimeUs: c.startTimeUs, durationNs: c.durationNs };
    const out = assembleTrace([c, sameInterval]);
    assert.equal(byId(out, s.spanId, 'server').parentSpanId, c.spanId);
    assert.equal(byId(out, c.spanId, 'client').parentSpanId, undefined, 'no cycle back to its own callee');
  });
});

describe('assembleTrace: whole traces', () => {
  function threeTierTrace(): Span[] {
    // user -> frontend (no context) -> orders (header) -> payments (header), both calls made while serving.
    const front = server(1, 100, T0_US, 50 * MS_NS);
    const toOrders = makeCall({
      traceId: TRACE, caller: 'svc-100', callee: 'orders', startTimeUs: T0_US + 1000, durationNs: 30 * MS_NS, callerPid: 100, calleePid: 200,
    });
    const toPayments = makeCall({
      traceId: TRACE, caller: 'orders', callee: 'payments', startTimeUs: T0_US + 5000, durationNs: 10 * MS_NS, callerPid: 200, calleePid: 300,
    });
    return [front, toOrders.client, toOrders.server, toPayments.client, toPayments.server];
  }

  test('header and containment links chain into one tree', () => {
    const input = threeTierTrace();
    const [front, oc, os, pc, ps] = input as [Span, Span, Span, Span, Span];
    const out = assembleTrace(input);
    assert.equal(byId(out, front.spanId).parentSpanId, undefined);
    assert.equal(byId(out, oc.spanId, 'client').parentSpanId, front.spanId);
    assert.equal(byId(out, os.spanId, 'server').parentSpanId, oc.spanId);
    assert.equal(byId(out, pc.spanId, 'client').parentSpanId, os.spanId);
    assert.equal(byId(out, ps.spanId, 'server').parentSpanId, pc.spanId);
    assert.deepEqual(out.map((s) => s.startTimeUs), [...out.map((s) => s.startTimeUs)].sort((a, b) => a - b), 'ordered by start');
  });

  test('deterministic: any input order gives the same output, and the input is not mutated', () => {
    const input = threeTierTrace();
    const snapshot = structuredClone(input);
    const expected = assembleTrace(input);
    for (let seed = 1; seed <= 20; seed++) assert.deepEqual(assembleTrace(shuffled(input, seed)), expected);
    assert.deepEqual(input, snapshot);
    assert.deepEqual(assembleTrace([]), []);
  });

  test('layers are pluggable: a later layer only links spans still without a parent', () => {
    const spans = [server(1, 100, T0_US, 10 * MS_NS), client(2, 100, T0_US + 100, MS_NS), client(3, 999, T0_US + 200, MS_NS)];
    const everythingToOne: LinkLayer = {
      name: 'test',
      propose: (ws) =>
        ws.spans.map((_, i) => ({ child: i, parentSpanId: spanIdOf(0xfff), method: 'correlation-id' as const, confidence: 0.5 })),
    };
    const out = assembleTrace(spans, [...DEFAULT_LAYERS, everythingToOne]);
    assert.equal(byId(out, spanIdOf(2)).parentLink?.method, 'thread');
    assert.equal(byId(out, spanIdOf(3)).parentLink?.method, 'correlation-id');
    assert.equal(byId(out, spanIdOf(1)).parentSpanId, spanIdOf(0xfff));
  });
});
