/**
 * The self-time windows keep compact projections of spans; every estimate
 * must equal the one made from whole spans (the estimator as it was, kept in
 * self-time-reference.ts). Randomized spans exercise every field the link
 * layer reads: threads and event loops, header trace ids, correlation
 * headers, URL tokens and targets, peers and ports, request transfer time,
 * repeated span ids, eviction and retention.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Attributes, Span, SpanKind, SpanStatus, TraceContextSource } from '../../../backend-agent/src/model/span.js';
import { DEFAULT_SELF_TIME_OPTIONS, SelfTimeEstimator, type SelfTimeOptions } from '../../../backend-agent/src/export/self-time.js';
import { serviceGraphObservation, type EdgeObservation } from '../../../backend-agent/src/export/service-graph.js';
import { ReferenceSelfTimeEstimator } from './self-time-reference.js';
import { T0_US, makeSpan } from '../fixtures/spans.js';
import { seededRandom } from '../fixtures/seeded-random.js';

interface Scenario {
  spans: Span[];
  /** Batch sizes, in arrival order; a negative entry is a scrape settling up to (clock - |entry| ms). */
  steps: number[];
}

const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');

function scenario(seed: number): Scenario {
  const r = seededRandom(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const processes = [
    { hostName: 'host-a', pid: 10, threads: [10] }, // event loop
    { hostName: 'host-a', pid: 11, threads: [21, 22, 23] }, // thread per request
    { hostName: 'host-b', pid: 10, threads: [10, 31] },
  ];
  const ids = ['42', 'ab12', 'x9', 'order-7', 'U55'];
  const count = 150 + Math.floor(r() * 350);
  const spans: Span[] = [];
  let clockUs = 0;
  for (let i = 0; i < count; i++) {
    clockUs += Math.floor(r() * 20_000);
    const proc = pick(processes);
    const kind: SpanKind = r() < 0.45 ? 'server' : 'client';
    const durationNs = Math.floor(r() < 0.2 ? r() * 2_000_000_000 : r() * 200_000_000) + 1;
    const startTimeUs = T0_US + clockUs - Math.floor(r() * 100_000);
    const traceIdSource: TraceContextSource = r() < 0.6 ? 'none' : pick(['w3c', 'b3'] as const);
    const attributes: Attributes = { 'http.request.method': pick(['GET', 'POST']), 'http.response.status_code': 200 };
    if (r() < 0.8) attributes['url.path'] = r() < 0.05 ? 7 : `/${pick(['items', 'orders'])}/${pick(ids)}`;
    if (r() < 0.3) attributes['url.query'] = `${r() < 0.5 ? '?' : ''}id=${pick(ids)}&q=${pick(ids)}`;
    for (const h of ['x-request-id', 'x-correlation-id', 'request-id']) {
      if (r() < 0.15) attributes[`http.request.header.${h}`] = r() < 0.1 ? '' : pick(['req-1', 'req-2', '0F8FAD5B-D9CB-469F-A165-70867728950E']);
    }
    spans.push(
      makeSpan({
        // A few repeated ids, as two traces in one window may carry.
        spanId: hex(r() < 0.05 ? 1 : i + 2, 16),
        traceId: hex(1 + Math.floor(r() * 6), 32),
        traceIdSource,
        kind,
        service: `svc-${proc.hostName}-${proc.pid}`,
        peerService: pick(['db', 'cache', 'payments']),
        peerLocal: r() < 0.5,
        status: pick<SpanStatus>(['unset', 'ok', 'error']),
        startTimeUs,
        durationNs,
        attributes,
        threadId: pick(proc.threads),
        process: { hostName: proc.hostName, pid: proc.pid },
        network: { remote: { address: '127.0.0.1', port: pick([8080, 8081, 5432]) }, requestTransferNs: Math.floor(r() * 3_000_000) },
      }),
    );
  }
  // Arrival order: by end time, with some spans late.
  const arrival = spans
    .map((s) => ({ s, at: s.startTimeUs + s.durationNs / 1000 + (r() < 0.1 ? r() * 500_000 : 0) }))
    .sort((a, b) => a.at - b.at)
    .map((x) => x.s);
  const steps: number[] = [];
  for (let left = arrival.length; left > 0; ) {
    if (r() < 0.1) steps.push(-Math.floor(1 + r() * 3000));
    const n = Math.min(left, 1 + Math.floor(r() * 40));
    steps.push(n);
    left -= n;
  }
  return { spans: arrival, steps };
}

interface Run {
  observed: Array<[string, number, EdgeObservation]>;
  settled: number;
  evicted: number;
}

function run(s: Scenario, make: (observe: (server: Parameters<typeof serviceGraphObservation>[0] & { spanId: string }, seconds: number) => void) => { add(spans: readonly Span[]): void; settle(untilUs: number): void; settled: number; evicted: number }): Run {
  const observed: Run['observed'] = [];
  const est = make((server, seconds) => observed.push([server.spanId, seconds, serviceGraphObservation(server)]));
  let at = 0;
  let clockUs = T0_US;
  for (const step of s.steps) {
    if (step < 0) {
      est.settle(clockUs + step * 1000);
      continue;
    }
    const batch = s.spans.slice(at, at + step);
    at += step;
    for (const span of batch) clockUs = Math.max(clockUs, span.startTimeUs + span.durationNs / 1000);
    est.add(batch);
  }
  est.settle(clockUs + 3_600_000_000);
  return { observed, settled: est.settled, evicted: est.evicted };
}

function compare(seed: number, options: SelfTimeOptions): number {
  const s = scenario(seed);
  const reference = run(s, (observe) => new ReferenceSelfTimeEstimator(observe, options));
  const compact = run(s, (observe) => new SelfTimeEstimator(observe, options));
  assert.deepEqual(compact, reference, `seed ${seed}`);
  return reference.observed.length;
}

describe('self time from compact projections equals self time from whole spans', () => {
  test('default options, randomized spans', () => {
    let observed = 0;
    let waited = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const s = scenario(seed);
      const reference = run(s, (observe) => new ReferenceSelfTimeEstimator(observe));
      const compact = run(s, (observe) => new SelfTimeEstimator(observe));
      assert.deepEqual(compact, reference, `seed ${seed}`);
      observed += reference.observed.length;
      // Not every estimate is a whole duration: links were found and subtracted.
      const whole = new Map(s.spans.map((x) => [x.spanId, x.durationNs / 1e9]));
      waited += reference.observed.filter(([id, sec]) => whole.get(id) !== undefined && sec < whole.get(id)! - 1e-12).length;
    }
    assert.ok(observed > 3000, `observed ${observed}`);
    assert.ok(waited > 100, `estimates with children subtracted: ${waited}`);
  });

  test('small windows: eviction and short retention', () => {
    let observed = 0;
    for (let seed = 100; seed <= 140; seed++) {
      observed += compare(seed, { ...DEFAULT_SELF_TIME_OPTIONS, maxSpansPerProcess: 5 + (seed % 40), retainUs: 50_000 + (seed % 7) * 100_000, settleUs: 100_000 + (seed % 5) * 300_000 });
    }
    assert.ok(observed > 2000, `observed ${observed}`);
  });
});
