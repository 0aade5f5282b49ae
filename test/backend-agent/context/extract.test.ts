import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { extractSpanContext, extractTraceContext } from '../../../backend-agent/src/context/extract.js';

const W3C = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const B3_SINGLE = '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90';
const B3_MULTI: Array<[string, string]> = [
  ['x-b3-traceid', '463ac35c9f6413ad48485a3953bb6124'],
  ['x-b3-spanid', 'a2fb4a1d1a96d312'],
  ['x-b3-sampled', '1'],
];
const JAEGER = '5759e988bd862e3fe1be46a994272793:53995c3f42cd8ad8:0:1';
const XRAY = 'Root=1-5759e988-bd862e3fe1be46a994272794;Parent=53995c3f42cd8ad9;Sampled=1';

describe('extractTraceContext', () => {
  it('returns nothing for requests without propagation headers', () => {
    assert.deepEqual(extractTraceContext([['host', 'x'], ['accept', '*/*']]), { all: [], correlationIds: {}, invalid: [] });
    assert.deepEqual(extractTraceContext([]), { all: [], correlationIds: {}, invalid: [] });
  });

  it('orders every valid context by precedence: w3c, b3 single, b3 multi, jaeger, x-ray', () => {
    const result = extractTraceContext([
      ['x-amzn-trace-id', XRAY],
      ['uber-trace-id', JAEGER],
      ...B3_MULTI,
      ['b3', B3_SINGLE],
      ['traceparent', W3C],
    ]);
    assert.deepEqual(result.all.map((c) => c.source), ['w3c', 'b3-single', 'b3', 'jaeger', 'xray']);
    assert.equal(result.context, result.all[0]);
    assert.deepEqual(result.invalid, []);
  });

  it('lets each format win when the ones above it are absent', () => {
    const layers: Array<[Array<[string, string]>, string]> = [
      [[['b3', B3_SINGLE], ...B3_MULTI, ['uber-trace-id', JAEGER], ['x-amzn-trace-id', XRAY]], 'b3-single'],
      [[...B3_MULTI, ['uber-trace-id', JAEGER], ['x-amzn-trace-id', XRAY]], 'b3'],
      [[['uber-trace-id', JAEGER], ['x-amzn-trace-id', XRAY]], 'jaeger'],
      [[['x-amzn-trace-id', XRAY]], 'xray'],
    ];
    for (const [headers, source] of layers) assert.equal(extractTraceContext(headers).context?.source, source);
  });

  it('falls back past an invalid higher-precedence header and reports it', () => {
    const result = extractTraceContext([['traceparent', W3C.toUpperCase()], ['b3', 'garbage'], ['uber-trace-id', JAEGER]]);
    assert.equal(result.context?.source, 'jaeger');
    assert.deepEqual(result.invalid.map((i) => i.header), ['traceparent', 'b3']);
  });

  it('uses B3 multi when b3 carries only a sampling decision', () => {
    const result = extractTraceContext([['b3', '0'], ...B3_MULTI]);
    assert.equal(result.context?.source, 'b3');
    assert.deepEqual(result.invalid, []);
  });

  it('returns correlation ids alongside', () => {
    const result = extractTraceContext([['traceparent', W3C], ['x-request-id', 'req-1'], ['x-correlation-id', 'c-1']]);
    assert.deepEqual(result.correlationIds, { requestId: 'req-1', correlationId: 'c-1' });
    assert.equal(result.context?.traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('ignores headers it does not know, whatever their values', () => {
    const result = extractTraceContext([['x-b3', 'zzz'], ['traceparentx', 'zzz'], ['grpc-trace-bin', 'zzz']]);
    assert.deepEqual(result, { all: [], correlationIds: {}, invalid: [] });
  });

  it('handles hostile header values in linear time', () => {
    const huge = 'a=b,'.repeat(100_000);
    const commas = ','.repeat(1_000_000);
    const start = process.hrtime.bigint();
    const result = extractTraceContext([
      ['traceparent', W3C],
      ['tracestate', huge],
      ['tracestate', commas],
      ['uber-trace-id', '%3A'.repeat(100_000)],
      ['x-amzn-trace-id', ';'.repeat(1_000_000)],
      ['b3', '-'.repeat(1_000_000)],
    ]);
    const elapsedMs = Number(process.hrtime.bigint() - start) / 1e6;
    assert.equal(result.context?.source, 'w3c');
    assert.equal(result.context?.traceState, undefined);
    assert.ok(elapsedMs < 1000, `took ${elapsedMs} ms`);
  });
});

describe('extractSpanContext', () => {
  const pool: Array<[string, string]> = [
    ['traceparent', W3C],
    ['traceparent', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['traceparent', 'garbage'],
    ['traceparent', ` ${W3C}\t`],
    ['traceparent', '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra'],
    ['traceparent', '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g'],
    ['traceparent', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'],
    ['tracestate', 'congo=t61rcWkgMzE'],
    ['tracestate', 'bad key=1'],
    ['b3', B3_SINGLE],
    ['b3', '0'],
    ...B3_MULTI,
    ['x-b3-traceid', 'zz'],
    ['uber-trace-id', JAEGER],
    ['x-amzn-trace-id', XRAY],
    ['x-request-id', 'req-1'],
    ['x-request-id', ''],
    ['x-correlation-id', 'corr-9'],
    ['request-id', '|abc.1.'],
    ['host', 'svc'],
    ['accept', '*/*'],
  ];

  it('finds the same context and correlation ids as extractTraceContext', () => {
    let seed = 7;
    const next = (): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let n = 0; n < 3000; n++) {
      const headers: Array<[string, string]> = [];
      const count = Math.floor(next() * 6);
      for (let i = 0; i < count; i++) headers.push(pool[Math.floor(next() * pool.length)]!);
      const full = extractTraceContext(headers);
      const lean = extractSpanContext(headers);
      assert.deepEqual(lean.context, full.context, JSON.stringify(headers));
      assert.deepEqual(lean.correlationIds, full.correlationIds, JSON.stringify(headers));
    }
  });

  it('shares one frozen result among requests without propagation headers', () => {
    const a = extractSpanContext([['host', 'x']]);
    assert.equal(a, extractSpanContext([]));
    assert.equal(a.context, undefined);
    assert.ok(Object.isFrozen(a) && Object.isFrozen(a.correlationIds));
  });
});
