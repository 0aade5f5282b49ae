import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Span } from '../../../backend-agent/src/model/span.js';
import { assembleTrace, createInProcessLinks, inProcessLinks, isEventLoop } from '../../../backend-agent/src/reconstruct/index.js';
import { baseUs, intervalOf } from '../../../backend-agent/src/reconstruct/span-time.js';
import { spanIdOf, traceIdOf } from '../fixtures/spans.js';
import { byId, side } from './link-fixtures.js';

const EVENT_LOOP = 40;

function inbound(n: number, pid: number, tid: number, startUs: number, durationUs: number, extra: Partial<Parameters<typeof side>[0]> = {}): Span {
  return side({ n, kind: 'server', pid, tid, startUs, durationUs, local: 8080, remote: 50000 + n, ...extra });
}
function outbound(n: number, pid: number, tid: number, startUs: number, durationUs: number, extra: Partial<Parameters<typeof side>[0]> = {}): Span {
  return side({ n, kind: 'client', pid, tid, startUs, durationUs, local: 41000 + n, remote: 9090, ...extra });
}

describe('in-process causality', () => {
  test('thread-per-request: the containing request on the same thread, even when another thread serves a tighter one', () => {
    const spans = [inbound(1, 30, 301, 0, 10_000), inbound(2, 30, 302, 1000, 5000), outbound(3, 30, 301, 2000, 1000)];
    const c = byId(assembleTrace(spans, [inProcessLinks]), 3);
    assert.equal(c.parentSpanId, spanIdOf(1));
    assert.equal(c.parentLink?.method, 'thread');
    assert.equal(c.parentLink?.alternatives, 1);
  });

  test('event-loop detection: one thread holding two inbound requests at once', () => {
    const loop = [inbound(1, EVENT_LOOP, 1, 0, 1000), inbound(2, EVENT_LOOP, 1, 500, 1000)];
    const threads = [inbound(1, 30, 1, 0, 1000), inbound(2, 30, 2, 500, 1000), inbound(3, 30, 1, 1200, 100)];
    const check = (spans: Span[]) => isEventLoop(spans, spans.map((s) => intervalOf(s, baseUs(spans))));
    assert.equal(check(loop), true);
    assert.equal(check(threads), false);
  });

  test('event loop: a correlation id seen inbound and outbound decides, whatever the timing', () => {
    const spans = [
      inbound(1, EVENT_LOOP, 1, 0, 10_000, { headers: { 'x-request-id': 'req-a' } }),
      inbound(2, EVENT_LOOP, 1, 100, 5000, { headers: { 'x-request-id': 'req-b' } }),
      outbound(3, EVENT_LOOP, 1, 120, 1000, { headers: { 'x-request-id': 'req-a' } }),
    ];
    const c = byId(assembleTrace(spans, [inProcessLinks]), 3);
    assert.equal(c.parentSpanId, spanIdOf(1));
    assert.equal(c.parentLink?.method, 'correlation-id');
    assert.equal(c.parentLink?.alternatives, 1);
  });

  test('event loop: an id shared by the inbound and outbound URL outweighs closeness in time', () => {
    const spans = [
      inbound(1, EVENT_LOOP, 1, 0, 10_000, { path: '/checkout', query: 'item=7' }),
      inbound(2, EVENT_LOOP, 1, 100, 9000, { path: '/checkout', query: 'item=9' }),
      outbound(3, EVENT_LOOP, 1, 130, 1000, { path: '/items/7' }),
    ];
    const c = byId(assembleTrace(spans, [inProcessLinks]), 3);
    assert.equal(c.parentSpanId, spanIdOf(1));
    assert.equal(c.parentLink?.method, 'timing');
    assert.ok(c.parentLink!.confidence > 0.5 && c.parentLink!.confidence <= 0.9);
    const withoutTokens = byId(assembleTrace(spans, [createInProcessLinks({ urlTokens: false })]), 3);
    assert.equal(withoutTokens.parentSpanId, spanIdOf(2), 'timing alone picks the request that just arrived');
  });

  test('event loop, timing only: each call goes to the request it follows, with the alternatives counted', () => {
    // Request 1 arrives at 0 (fully read at 10 µs), request 2 at 1000; each makes one call right away and answers right after it.
    const spans = [
      inbound(1, EVENT_LOOP, 1, 0, 7000),
      inbound(2, EVENT_LOOP, 1, 1000, 5500),
      outbound(3, EVENT_LOOP, 1, 40, 5900),
      outbound(4, EVENT_LOOP, 1, 1040, 5400),
    ];
    const out = assembleTrace(spans, [createInProcessLinks({ urlTokens: false })]);
    assert.equal(byId(out, 3).parentSpanId, spanIdOf(1));
    assert.equal(byId(out, 4).parentSpanId, spanIdOf(2));
    assert.equal(byId(out, 4).parentLink?.alternatives, 1);
    assert.ok(byId(out, 4).parentLink!.confidence < 0.9, 'another request contained it too');
  });

  test('event loop with a backlog: calls to one peer go to the waiting requests in arrival order, one each', () => {
    // Three requests arrive 100 µs apart; the loop is busy and calls out ~3 ms later, in the same order.
    const spans = [
      inbound(1, EVENT_LOOP, 1, 0, 10_000),
      inbound(2, EVENT_LOOP, 1, 100, 10_000),
      inbound(3, EVENT_LOOP, 1, 200, 10_000),
      outbound(4, EVENT_LOOP, 1, 3000, 1000),
      outbound(5, EVENT_LOOP, 1, 3100, 1000),
      outbound(6, EVENT_LOOP, 1, 3200, 1000),
    ];
    const out = assembleTrace(spans, [createInProcessLinks({ urlTokens: false })]);
    assert.deepEqual(
      [4, 5, 6].map((n) => byId(out, n).parentSpanId),
      [spanIdOf(1), spanIdOf(2), spanIdOf(3)],
    );
    for (const n of [4, 5, 6]) assert.equal(byId(out, n).parentLink?.alternatives, 2);
  });

  test('trace ids from headers must agree; derived ids never block a link', () => {
    const headered = (s: Span, t: number): Span => ({ ...s, traceId: traceIdOf(t), traceIdSource: 'w3c' });
    const spans = [
      headered(inbound(1, EVENT_LOOP, 1, 0, 10_000), 500),
      headered(inbound(2, EVENT_LOOP, 1, 100, 5000), 600),
      headered(outbound(3, EVENT_LOOP, 1, 200, 1000), 500),
    ];
    assert.equal(byId(assembleTrace(spans, [inProcessLinks]), 3).parentSpanId, spanIdOf(1));
  });

  test('deterministic: the same spans in any order give the same links', () => {
    const spans = [
      inbound(1, EVENT_LOOP, 1, 0, 6000),
      inbound(2, EVENT_LOOP, 1, 1000, 5500),
      inbound(5, EVENT_LOOP, 1, 1500, 3000),
      outbound(3, EVENT_LOOP, 1, 40, 5900),
      outbound(4, EVENT_LOOP, 1, 1040, 5400),
      outbound(6, EVENT_LOOP, 1, 1550, 2000),
    ];
    const expected = assembleTrace(spans);
    for (let seed = 1; seed < 8; seed++) {
      const shuffled = [...spans].sort((a, b) => ((a.spanId.charCodeAt(15) * seed) % 7) - ((b.spanId.charCodeAt(15) * seed) % 7));
      assert.deepEqual(assembleTrace(shuffled), expected);
    }
  });
});
