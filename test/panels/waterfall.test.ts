/**
 * The waterfall's tree building on trace frames the data source builds
 * (traceFrame): order, network gaps, critical path on known trees, collapse,
 * search, inferred links; Jaeger/Tempo-shaped frames; a 5,000-span trace
 * with its build time printed (a benchmark, not asserted).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { traceFrame } from '../../src/datasource/frames/trace-frame.js';
import { criticalPath } from '../../src/panels/waterfall/critical-path.js';
import { readWaterfall, type SpanRow, type Waterfall } from '../../src/panels/waterfall/tree.js';
import { allParents, hiddenMatches, revealMatches, rowWindow, searchRows, visibleRows } from '../../src/panels/waterfall/view.js';
import { linkBadgeText } from '../../src/panels/waterfall/Row.js';
import { detailSections } from '../../src/panels/waterfall/Details.js';
import { syntheticTraceFrame } from '../../src/preview/synthetic.js';
import type { Span, SpanLink } from '../../backend-agent/src/model/span.js';

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

function linked(s: Span, method: SpanLink['method'], confidence: number, extra: Partial<SpanLink> = {}): Span {
  s.parentLink = { traceId: TRACE, spanId: s.parentSpanId!, method, confidence, ...extra };
  return s;
}

function build(spans: Span[]): Waterfall {
  const r = readWaterfall([traceFrame(TRACE, spans)]);
  assert.ok(r.ok, r.ok ? '' : r.message);
  return r.waterfall;
}

const byId = (w: Waterfall, id: string): SpanRow => w.rows.find((r) => r.spanId === id)!;
const segments = (w: Waterfall) => w.rows.flatMap((r) => r.critical.map((c) => [r.spanId, c.startMs, c.endMs] as const)).sort((a, b) => a[1] - b[1]);

test('readWaterfall orders rows depth-first, children by start, with depths and offsets from the trace start', () => {
  const w = build([span('c2', 's1', 'api', 'client', 5, 2), span('s1', 'c1', 'api', 'server', 1, 8), span('c1', undefined, 'web', 'client', 0, 10), span('c3', 's1', 'api', 'client', 2, 2, true)]);
  assert.deepEqual(w.rows.map((x) => [x.spanId, x.depth, x.offsetMs, x.kind, x.error]), [
    ['c1', 0, 0, 'client', false],
    ['s1', 1, 1, 'server', false],
    ['c3', 2, 2, 'client', true],
    ['c2', 2, 5, 'client', false],
  ]);
  assert.equal(w.totalMs, 10);
  assert.deepEqual(w.rows.map((x) => [x.childCount, x.descendants, x.parentIndex]), [[1, 3, -1], [2, 2, 0], [0, 0, 1], [0, 0, 1]]);
});

test('readWaterfall keeps spans whose parent was not captured (as roots) and explains non-trace frames', () => {
  const w = build([span('s1', 'gone', 'api', 'server', 0, 1), span('c1', 's1', 'api', 'client', 0.2, 0.5)]);
  assert.deepEqual(w.rows.map((x) => [x.spanId, x.depth]), [['s1', 0], ['c1', 1]]);
  assert.match(byId(w, 's1').warnings.join(), /was not captured/);
  const other = readWaterfall([createDataFrame({ name: 'nodes', fields: [{ name: 'id', type: FieldType.string, values: ['a'] }] })]);
  assert.ok(!other.ok, '!other.ok');
  assert.match(other.message, /draws one trace.*got nodes/);
});

test('network gap: a server side under its client side gets the time before and after it on the wire', () => {
  // Client 0..10 ms, server 1.5..8.75 ms: 1.5 ms before, 1.25 ms after, 2.75 ms in all.
  const w = build([span('c1', undefined, 'web', 'client', 0, 10), linked(span('s1', 'c1', 'api', 'server', 1.5, 7.25), 'socket-join', 0.99, { networkTimeNs: 2_750_000 })]);
  const s1 = byId(w, 's1');
  assert.ok(s1.gap, 's1.gap');
  assert.equal(s1.gap.clientSpanId, 'c1');
  assert.ok(Math.abs(s1.gap.beforeMs - 1.5) < 1e-9, 'Math.abs(s1.gap.beforeMs - 1.5) < 1e-9');
  assert.ok(Math.abs(s1.gap.afterMs - 1.25) < 1e-9, 'Math.abs(s1.gap.afterMs - 1.25) < 1e-9');
  assert.ok(Math.abs(s1.gap.totalMs - 2.75) < 1e-9, 'Math.abs(s1.gap.totalMs - 2.75) < 1e-9');
  assert.equal(s1.gap.clientDurationMs, 10);
  assert.equal(byId(w, 'c1').gap, undefined, 'only server sides carry a gap');
  // A server whose caller was not captured has no client side to compare with.
  assert.equal(build([span('s9', undefined, 'api', 'server', 0, 3)]).rows[0]!.gap, undefined);
  const net = detailSections(s1).find(([t]) => t === 'Network')![1];
  assert.ok(net.some(([k, v]) => k === 'Network gap' && v.startsWith('2.75 ms')), JSON.stringify(net));
});

test('critical path: nested wait, sequential children, and an async child clipped to its parent', () => {
  // R 0..100 waits on B (20..90), which waits on C (30..60); A (10..40) finishes before B and is not on the path.
  const nested = build([
    span('R', undefined, 'r', 'server', 0, 100),
    span('A', 'R', 'r', 'client', 10, 30),
    span('B', 'R', 'r', 'client', 20, 70),
    span('C', 'B', 'c', 'server', 30, 30),
  ]);
  assert.deepEqual(segments(nested), [
    ['R', 0, 20],
    ['B', 20, 30],
    ['C', 30, 60],
    ['B', 60, 90],
    ['R', 90, 100],
  ]);
  assert.equal(byId(nested, 'A').critical.length, 0);

  // Sequential calls: every child is on the path, with the parent's own work between them.
  const seq = build([span('R', undefined, 'r', 'server', 0, 100), span('A', 'R', 'r', 'client', 0, 30), span('B', 'R', 'r', 'client', 40, 30), span('C', 'R', 'r', 'client', 80, 15)]);
  assert.deepEqual(segments(seq), [
    ['A', 0, 30],
    ['R', 30, 40],
    ['B', 40, 70],
    ['R', 70, 80],
    ['C', 80, 95],
    ['R', 95, 100],
  ]);

  // X (10..80) outlives R (0..50): only its part inside R delayed R.
  const async = build([span('R', undefined, 'r', 'server', 0, 50), span('X', 'R', 'r', 'client', 10, 70)]);
  assert.deepEqual(segments(async), [
    ['R', 0, 10],
    ['X', 10, 50],
  ]);
});

test('critical path sections never overlap and add up to the root duration (5,000-span trace)', () => {
  const r = readWaterfall([syntheticTraceFrame(5000)]);
  assert.ok(r.ok, 'r.ok');
  const segs = segments(r.waterfall);
  for (let i = 1; i < segs.length; i++) assert.ok(segs[i]![1] >= segs[i - 1]![2] - 1e-6, `overlap at ${i}`);
  const total = segs.reduce((s, x) => s + x[2] - x[1], 0);
  const root = r.waterfall.rows[0]!;
  assert.ok(Math.abs(total - root.durationMs) < 1e-6, `${total} vs ${root.durationMs}`);
  // The path goes down through client -> server pairs: it includes network time of some calls.
  assert.ok(r.waterfall.rows.some((x) => x.kind === 'client' && x.critical.length > 0), 'the path includes client sides');
  assert.deepEqual(criticalPath([]), []);
});

test('collapse hides a subtree (and counts it); search matches any text and reveals matches in collapsed subtrees', () => {
  const w = build([
    span('R', undefined, 'web', 'server', 0, 100),
    span('c1', 'R', 'web', 'client', 1, 40),
    span('s1', 'c1', 'orders', 'server', 2, 38),
    span('c2', 's1', 'orders', 'client', 3, 10),
    span('s2', 'c2', 'payments', 'server', 4, 8, true),
    span('c3', 'R', 'web', 'client', 50, 40),
  ]);
  assert.deepEqual(visibleRows(w.rows, new Set(['c1'])).map((r) => r.spanId), ['R', 'c1', 'c3']);
  assert.deepEqual(visibleRows(w.rows, new Set(['s1', 'R'])).map((r) => r.spanId), ['R']);
  assert.deepEqual(visibleRows(w.rows, new Set()).length, 6);
  assert.deepEqual([...allParents(w.rows)].sort(), ['R', 'c1', 'c2', 's1']);

  const m = searchRows(w.rows, 'PAYMENTS');
  assert.deepEqual([...m], ['s2']);
  assert.deepEqual([...searchRows(w.rows, 'orders client')], ['c2'], 'every term must match');
  assert.equal(searchRows(w.rows, 'net.connection.id=1').size, 6, 'attributes are searched as key=value');
  assert.equal(searchRows(w.rows, '  ').size, 0);
  assert.equal(hiddenMatches(byId(w, 'c1'), w.rows, m), 1);
  const revealed = revealMatches(w.rows, new Set(['c1', 'c3']), m);
  assert.deepEqual([...revealed], ['c3'], 'ancestors of a match open, other collapsed rows stay collapsed');
});

test('inferred links carry their method, confidence and alternatives; header links are not marked', () => {
  const w = build([
    span('c1', undefined, 'web', 'client', 0, 10),
    linked(span('s1', 'c1', 'api', 'server', 1, 8), 'header', 1),
    linked(span('c2', 's1', 'api', 'client', 2, 3), 'thread', 0.8, { alternatives: 2 }),
    linked(span('s2', 'c2', 'db', 'server', 2.5, 2), 'socket-join', 0.99, { networkTimeNs: 1e6 }),
  ]);
  assert.deepEqual(byId(w, 's1').link, { method: 'header', inferred: false, confidence: 1 });
  assert.equal(linkBadgeText(byId(w, 's1')), undefined);
  assert.deepEqual(byId(w, 'c2').link, { method: 'thread', inferred: true, confidence: 0.8, alternatives: 2 });
  assert.equal(linkBadgeText(byId(w, 'c2')), 'thread · 80% · 2 alt');
  assert.equal(linkBadgeText(byId(w, 's2')), 'socket-join · 99%');
  assert.equal(byId(w, 's2').link!.networkTimeMs, 1);
  const link = detailSections(byId(w, 'c2')).find(([t]) => t === 'Parent link')![1];
  assert.deepEqual(link, [['Method', 'thread (inferred without trace headers)'], ['Confidence', '80%'], ['Alternatives', '2']]);
});

test('span details: connection, keep-alive reuse, endpoints, capture source, sizes, process', () => {
  const s = span('s1', undefined, 'api', 'server', 0, 5);
  s.network = { ...s.network, connectionId: '77', exchangeIndex: 3, captureSource: 'tls', requestBytes: 2048, responseBytes: 512 };
  s.process = { ...s.process, pid: 4242, containerId: 'abc123', commandLine: 'node api.js' };
  s.threadId = 4243;
  s.attributes = { 'http.request.method': 'GET' };
  const sections = Object.fromEntries(detailSections(build([s]).rows[0]!).map(([t, p]) => [t, Object.fromEntries(p)]));
  assert.equal(sections.Network!.Connection, '77');
  assert.match(sections.Network!.Exchange!, /#3 \(reused keep-alive connection\)/);
  assert.equal(sections.Network!.Local, '10.0.0.1:80');
  assert.equal(sections.Network!.Remote, '10.0.0.2:50000');
  assert.match(sections.Network!.Capture!, /^tls/);
  assert.equal(sections.Network!.Request, '2.0 KiB in 0 ns');
  assert.equal(sections.Network!.Response, '512 B in 0 ns');
  assert.deepEqual([sections.Process!.pid, sections.Process!.Thread, sections.Process!.Container, sections.Process!.Command], ['4242', '4243', 'abc123', 'node api.js']);
  assert.equal(sections.Attributes!['http.request.method'], 'GET');
});

test('frames from Grafana Jaeger/Tempo sources: no wiretrace tags, kind in tags or SPAN_KIND_*, still a tree', () => {
  const frame = createDataFrame({
    name: 'Trace',
    meta: { preferredVisualisationType: 'trace' },
    fields: [
      { name: 'traceID', type: FieldType.string, values: ['t', 't', 't'] },
      { name: 'spanID', type: FieldType.string, values: ['a', 'b', 'c'] },
      { name: 'parentSpanID', type: FieldType.string, values: [undefined, 'a', 'b'] },
      { name: 'operationName', type: FieldType.string, values: ['GET /', 'GET /x', 'SELECT'] },
      { name: 'serviceName', type: FieldType.string, values: ['web', 'web', 'db'] },
      { name: 'startTime', type: FieldType.number, values: [1000, 1001, 1002] },
      { name: 'duration', type: FieldType.number, values: [10, 8, 5] },
      { name: 'kind', type: FieldType.string, values: ['SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT', 'SPAN_KIND_SERVER'] },
      { name: 'tags', type: FieldType.other, values: [[{ key: 'error', value: true }], 'not an array', [{ key: 'db.system', value: 'postgresql' }]] },
    ],
  });
  const r = readWaterfall([frame]);
  assert.ok(r.ok, 'r.ok');
  assert.deepEqual(r.waterfall.rows.map((x) => [x.spanId, x.kind, x.depth, x.error, x.link]), [
    ['a', 'server', 0, true, undefined],
    ['b', 'client', 1, false, undefined],
    ['c', 'server', 2, false, undefined],
  ]);
  assert.equal(r.waterfall.rows[2]!.connection.protocol, 'postgresql');
  assert.ok(r.waterfall.rows[2]!.gap, 'client -> server pairs get a gap whatever the source');
});

test('5,000-span trace: tree, gaps and critical path built (time printed); the row window stays bounded while scrolling', (t) => {
  const frame = syntheticTraceFrame(5000);
  const t0 = performance.now();
  const r = readWaterfall([frame]);
  const ms = performance.now() - t0;
  assert.ok(r.ok, 'r.ok');
  const rows = r.waterfall.rows;
  t.diagnostic(`waterfall tree + gaps + critical path of 5000 spans: ${ms.toFixed(1)} ms; depth ${Math.max(...rows.map((x) => x.depth))}`);
  assert.equal(rows.length, 5000);
  assert.equal(new Set(rows.map((x) => x.spanId)).size, 5000);
  assert.ok(rows.filter((x) => x.gap).length >= 2400, 'every call has its network gap');
  assert.ok(rows.filter((x) => x.link?.inferred).length >= 500, 'a quarter of the calls are socket joins');
  const t1 = performance.now();
  const matches = searchRows(rows, 'svc-07');
  const collapsedAll = visibleRows(rows, allParents(rows));
  t.diagnostic(`search (${matches.size} matches) + collapse all (${collapsedAll.length} rows left) over 5000 spans: ${(performance.now() - t1).toFixed(1)} ms`);
  assert.equal(collapsedAll.length, 1);
  for (const top of [0, 24 * 2500, 24 * 4990, 24 * 10_000]) {
    const win = rowWindow(rows.length, 24, top, 600);
    assert.ok(win.last - win.first <= Math.ceil(600 / 24) + 17, `window ${win.first}..${win.last}`);
    assert.ok(win.last <= rows.length && win.first <= win.last, `window ${win.first}..${win.last} within ${rows.length}`);
  }
});
