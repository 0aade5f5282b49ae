/**
 * --record-header: a named request header is kept verbatim as an attribute
 * (for evaluation, e.g. the demo's ground-truth call id), and only when asked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ObservedExchange } from '../../../backend-agent/src/model/exchange.js';
import { buildSpan, type SpanBuilderDeps } from '../../../backend-agent/src/spans/span-builder.js';
import { makeProcess } from '../fixtures/spans.js';

const exchange: ObservedExchange = {
  protocol: 'http1',
  connection: {
    connId: 7n, pid: 4242, comm: 'node', cgroupId: 1n, role: 'server',
    socket: { family: 'ipv4', local: { address: '127.0.0.1', port: 8080 }, remote: { address: '127.0.0.1', port: 40000 } },
  },
  index: 0,
  request: {
    method: 'GET', target: '/x', path: '/x', query: '', version: '1.1',
    headers: [['host', 'localhost'], ['x-demo-call', 'loadgen-1-0'], ['x-other', 'v']],
    headerBytes: 60, bodyBytes: 0, tid: 4242, startNs: 1_000n, endNs: 2_000n,
  },
  response: { statusCode: 200, reason: 'OK', version: '1.1', headers: [], headerBytes: 40, bodyBytes: 2, tid: 4242, startNs: 3_000n, endNs: 4_000n },
  truncated: false,
};

function deps(recordHeaders?: string[]): SpanBuilderDeps {
  return {
    resolveProcess: (pid) => makeProcess({ pid }),
    peerOf: () => undefined,
    extractTraceContext: () => ({ correlationIds: {} }),
    redactHeaders: (h) => h,
    redactQuery: (q) => q,
    redactPath: (p) => p,
    toUnixUs: (ns) => Number(ns / 1000n),
    sessionKey: 's',
    ...(recordHeaders ? { recordHeaders } : {}),
  };
}

test('a recorded header becomes http.request.header.<name>; others and unasked runs add nothing', () => {
  const span = buildSpan(exchange, deps(['x-demo-call', 'x-absent']));
  assert.equal(span.attributes['http.request.header.x-demo-call'], 'loadgen-1-0');
  assert.equal(span.attributes['http.request.header.x-absent'], undefined);
  assert.equal(span.attributes['http.request.header.x-other'], undefined);
  assert.equal(buildSpan(exchange, deps()).attributes['http.request.header.x-demo-call'], undefined);
  assert.equal(span.parentSpanId, undefined, 'recording never links');
});
