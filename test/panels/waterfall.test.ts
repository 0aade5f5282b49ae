/**
 * The waterfall's tree building on trace frames the data source builds
 * (traceFrame), including a 5,000-span trace with its build time printed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { traceFrame } from '../../src/datasource/frames/trace-frame.js';
import { readWaterfall } from '../../src/panels/waterfall/tree.js';
import type { Span } from '../../backend-agent/src/model/span.js';

// @grafana/data's ESM build does not load in plain Node (see test/datasource/fixtures/grafana-data.ts): use its CommonJS build.
const { createDataFrame, FieldType } = createRequire(import.meta.url)('@grafana/data') as typeof import('@grafana/data');

const TRACE = '0af7651916cd43dd8448eb211c80319c';
function span(spanId: string, parentSpanId: string | undefined, service: string, kind: 'client' | 'server', startMs: number, durMs: number, error = false): Span {
  const s: Span = {
    traceId: TRACE,
    spanId,
    kind,
    name: `GET /${service}`,
    service,
    peerService: 'peer',
    peerLocal: true,
    startTimeUs: 1_700_000_000_000_000 + startMs * 1000,
    durationNs: durMs * 1e6,
    status: error ? 'error' : 'ok',
    traceIdSource: 'none',
    attributes: {},
    process: { pid: 1, serviceName: service, serviceNameSource: 'comm', executableName: service, hostName: 'node-a' },
    threadId: 1,
    network: {
      connectionId: '1',
      exchangeIndex: 0,
      local: { address: '10.0.0.1', port: 80 },
      remote: { address: '10.0.0.2', port: 50000 },
      requestBytes: 10,
      responseBytes: 20,
      requestTransferNs: 0,
      responseTransferNs: 0,
      truncated: false,
      captureSource: 'syscall',
    },
  };
  if (parentSpanId) s.parentSpanId = parentSpanId;
  return s;
}

test('readWaterfall orders rows depth-first, children by start, with depths and offsets from the trace start', () => {
  const frame = traceFrame(TRACE, [
    span('c2', 's1', 'api', 'client', 5, 2),
    span('s1', 'c1', 'api', 'server', 1, 8),
    span('c1', undefined, 'web', 'client', 0, 10),
    span('c3', 's1', 'api', 'client', 2, 2, true),
  ]);
  const r = readWaterfall([frame]);
  assert.ok(r.ok);
  assert.deepEqual(r.waterfall.rows.map((x) => [x.spanId, x.depth, x.offsetMs, x.kind, x.error]), [
    ['c1', 0, 0, 'client', false],
    ['s1', 1, 1, 'server', false],
    ['c3', 2, 2, 'client', true],
    ['c2', 2, 5, 'client', false],
  ]);
  assert.equal(r.waterfall.totalMs, 10);
});

test('readWaterfall keeps spans whose parent was not captured (as roots) and explains non-trace frames', () => {
  const r = readWaterfall([traceFrame(TRACE, [span('s1', 'gone', 'api', 'server', 0, 1), span('c1', 's1', 'api', 'client', 0.2, 0.5)])]);
  assert.ok(r.ok);
  assert.deepEqual(r.waterfall.rows.map((x) => [x.spanId, x.depth]), [['s1', 0], ['c1', 1]]);
  const other = readWaterfall([createDataFrame({ name: 'nodes', fields: [{ name: 'id', type: FieldType.string, values: ['a'] }] })]);
  assert.ok(!other.ok);
  assert.match(other.message, /draws one trace.*got nodes/);
});

test('readWaterfall of a 5,000-span trace (benchmark: time printed, not asserted)', (t) => {
  const spans: Span[] = [span('s0', undefined, 'root', 'server', 0, 5000)];
  for (let i = 1; i < 5000; i++) spans.push(span(`s${i}`, `s${Math.floor((i - 1) / 4)}`, `svc${i % 40}`, i % 2 ? 'client' : 'server', i * 0.5, 3));
  const frame = traceFrame(TRACE, spans);
  const t0 = performance.now();
  const r = readWaterfall([frame]);
  const ms = performance.now() - t0;
  t.diagnostic(`waterfall tree of 5000 spans: ${ms.toFixed(1)} ms`);
  assert.ok(r.ok);
  assert.equal(r.waterfall.rows.length, 5000);
  assert.equal(new Set(r.waterfall.rows.map((x) => x.spanId)).size, 5000);
});
