/**
 * OTLP/HTTP protobuf export: what the exporter sends to a real HTTP server on
 * loopback, decoded with the official OpenTelemetry .proto definitions, and
 * how it behaves when the collector refuses, stalls or is not there.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Span } from '../../../backend-agent/src/model/span.js';
import { OtlpExporter, encodeTraceRequest, parseRetryAfter, tracesUrl, PARENT_MIN_CONFIDENCE } from '../../../backend-agent/src/export/otlp/index.js';
import { AGENT_VERSION } from '../../../backend-agent/src/version.js';
import { createLogger } from '../../../backend-agent/src/util/log.js';
import { T0_US, makeCall, makeSpan, spanIdOf, traceIdOf } from '../fixtures/spans.js';
import { TestCollector, attrs, decodeRequest, until } from './otlp-collector.js';

const quiet = createLogger('error', () => {});

function exporter(url: string, extra: Partial<ConstructorParameters<typeof OtlpExporter>[0]> = {}): OtlpExporter {
  return new OtlpExporter({ endpoint: url, log: quiet, flushIntervalMs: 20, initialBackoffMs: 10, maxBackoffMs: 50, random: () => 0.5, ...extra });
}

/** A header-propagated call, a header-less hop with an inferred (timing) parent, an error. */
function sampleSpans(): Span[] {
  const trace = traceIdOf(0xabc);
  const { client, server } = makeCall({ traceId: trace, caller: 'frontend', callee: 'orders', startTimeUs: T0_US, durationNs: 3_000_000, callerPid: 1000, calleePid: 2000 });
  const headerServer: Span = { ...server, parentSpanId: client.spanId, parentLink: { traceId: trace, spanId: client.spanId, method: 'header', confidence: 1 } };
  const inferred = makeSpan({
    traceId: trace,
    spanId: spanIdOf(0x77),
    kind: 'client',
    service: 'orders',
    peerService: '10.0.0.9:5432',
    startTimeUs: T0_US + 100,
    durationNs: 1_000_000,
    status: 'error',
    statusMessage: 'HTTP 503',
    parentSpanId: headerServer.spanId,
    parentLink: { traceId: trace, spanId: headerServer.spanId, method: 'timing', confidence: 0.45, alternatives: 1 },
    attributes: { 'http.request.method': 'GET', 'url.path': '/stock', 'http.response.status_code': 503, 'process.pid': 2500, 'empty.value': '', 'flag.false': false, 'neg.int': -5, ratio: 0.25 },
    // Another replica of orders, in a container: a resource of its own.
    process: { pid: 2500, serviceName: 'orders', containerId: 'c0ffee', executableName: 'python3' },
  });
  const joined = makeSpan({
    traceId: trace,
    spanId: spanIdOf(0x78),
    kind: 'server',
    service: 'stock',
    startTimeUs: T0_US + 120,
    durationNs: 900_000,
    parentSpanId: inferred.spanId,
    parentLink: { traceId: trace, spanId: inferred.spanId, method: 'socket-join', confidence: 0.99, networkTimeNs: 100_000 },
    process: { pid: 3000, serviceName: 'stock' },
  });
  return [client, headerServer, inferred, joined];
}

describe('OTLP export to a loopback collector', () => {
  let collector: TestCollector;
  before(async () => {
    collector = await new TestCollector().start();
  });
  after(async () => {
    await collector.stop();
  });

  test('spans, resources, scope, times, status, attributes, parents and links decode with the official protos', async () => {
    collector.requests.length = 0;
    const spans = sampleSpans();
    const ex = exporter(collector.url, { headers: { Authorization: 'Bearer s3cret', 'X-Scope-OrgID': 'tenant-a' } });
    ex.add(spans);
    await until('one request', () => collector.requests.length === 1);
    await until('exported count', () => ex.health().spansExported === 4);
    await ex.shutdown();

    const req = collector.requests[0]!;
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/v1/traces', 'a base URL gets /v1/traces');
    assert.equal(req.headers['content-type'], 'application/x-protobuf');
    assert.equal(req.headers.authorization, 'Bearer s3cret');
    assert.equal(req.headers['x-scope-orgid'], 'tenant-a');
    assert.equal(req.decodeError, undefined);

    const got = collector.spans();
    assert.equal(got.length, 4);
    // One resource per process: frontend 1000, orders 2000, orders 2500 (container), stock 3000.
    assert.equal(req.decoded?.resourceSpans?.length, 4);
    for (const { scope } of got) assert.deepEqual(scope, { name: 'wiretrace', version: AGENT_VERSION });

    const bySpanId = new Map(got.map((g) => [g.span.spanId, g]));
    const [client, server, inferred, joined] = spans as [Span, Span, Span, Span];

    const c = bySpanId.get(client.spanId)!;
    assert.equal(c.span.traceId, client.traceId);
    assert.equal(c.span.kind, 'SPAN_KIND_CLIENT');
    assert.equal(c.span.name, 'GET /api/items');
    assert.equal(c.span.startTimeUnixNano, (BigInt(client.startTimeUs) * 1000n).toString());
    assert.equal(c.span.endTimeUnixNano, (BigInt(client.startTimeUs) * 1000n + BigInt(client.durationNs)).toString());
    assert.equal(c.span.parentSpanId, undefined, 'a root has no parent');
    assert.deepEqual(c.resource, {
      'service.name': 'frontend',
      'host.name': 'host-a',
      'process.pid': 1000,
      'process.executable.name': 'node',
      'wiretrace.service_name.source': 'env:OTEL_SERVICE_NAME',
    });

    const s = bySpanId.get(server.spanId)!;
    assert.equal(s.span.kind, 'SPAN_KIND_SERVER');
    assert.equal(s.span.parentSpanId, client.spanId, 'header link -> parent_span_id');
    assert.equal(s.span.links?.length ?? 0, 0, 'header links are parents, not span links');
    assert.equal(attrs(s.span.attributes)['wiretrace.link.method'], 'header');

    const i = bySpanId.get(inferred.spanId)!;
    assert.ok(inferred.parentLink!.confidence < PARENT_MIN_CONFIDENCE);
    assert.equal(i.span.parentSpanId, undefined, 'an unsure timing link is not made a parent');
    assert.equal(i.span.links?.length, 1);
    assert.equal(i.span.links![0]!.traceId, inferred.traceId);
    assert.equal(i.span.links![0]!.spanId, server.spanId);
    assert.deepEqual(attrs(i.span.links![0]!.attributes), { 'wiretrace.link.method': 'timing', 'wiretrace.link.confidence': 0.45, 'wiretrace.link.alternatives': 1 });
    assert.deepEqual(i.span.status, { code: 'STATUS_CODE_ERROR', message: 'HTTP 503' });
    assert.equal(i.resource['container.id'], 'c0ffee');
    assert.equal(i.resource['process.executable.name'], 'python3');
    const ia = attrs(i.span.attributes);
    assert.equal(ia['http.response.status_code'], 503);
    assert.equal(ia['url.path'], '/stock');
    assert.equal(ia['empty.value'], '', 'empty strings survive the oneof');
    assert.equal(ia['flag.false'], false);
    assert.equal(ia['neg.int'], -5);
    assert.equal(ia.ratio, 0.25);
    assert.equal(ia['process.pid'], undefined, 'process attributes live on the resource');
    assert.equal(ia['peer.service'], '10.0.0.9:5432');

    const j = bySpanId.get(joined.spanId)!;
    assert.equal(j.span.parentSpanId, inferred.spanId, 'a confident socket join is a parent...');
    assert.equal(j.span.links?.length, 1, '...and a link saying how it was made');
    assert.deepEqual(attrs(j.span.links![0]!.attributes), {
      'wiretrace.link.method': 'socket-join',
      'wiretrace.link.confidence': 0.99,
      'wiretrace.link.alternatives': 0,
      'wiretrace.network_time_ns': 100_000,
    });
    assert.equal(j.span.status, undefined, 'unset status is the default');
  });

  test('gzip compression', async () => {
    collector.requests.length = 0;
    const ex = exporter(`${collector.url}/custom/traces`, { compression: 'gzip' });
    ex.add(sampleSpans());
    await until('exported', () => ex.health().spansExported === 4);
    await ex.shutdown();
    assert.equal(collector.requests[0]!.headers['content-encoding'], 'gzip');
    assert.equal(collector.requests[0]!.url, '/custom/traces', 'a URL with a path is used as given');
    assert.equal(collector.spans().length, 4);
  });

  test('batches by size and by time', async () => {
    collector.requests.length = 0;
    const ex = exporter(collector.url, { batchSize: 10, flushIntervalMs: 200 });
    const many = Array.from({ length: 25 }, (_, k) => makeSpan({ spanId: spanIdOf(0x500 + k) }));
    ex.add(many);
    // Two full batches leave at once; the 5 left wait for the timer.
    await until('two full batches', () => collector.requests.length >= 2);
    assert.equal(collector.requests.length, 2);
    await until('the rest on the timer', () => ex.health().spansExported === 25, 2000);
    await ex.shutdown();
    const sizes = collector.requests.map((r) => r.decoded?.resourceSpans?.[0]?.scopeSpans?.[0]?.spans?.length);
    assert.deepEqual(sizes, [10, 10, 5]);
    assert.equal(new Set(collector.spans().map((g) => g.span.spanId)).size, 25);
  });

  test('503 then success: retried with back-off, honouring Retry-After, nothing lost', async () => {
    collector.requests.length = 0;
    collector.script.push({ status: 503, retryAfter: '1' }, { status: 429 }, { status: 200 });
    const ex = exporter(collector.url);
    ex.add(sampleSpans());
    await until('exported after retries', () => ex.health().spansExported === 4, 5000);
    await ex.shutdown();
    const h = ex.health();
    assert.equal(collector.requests.length, 3);
    assert.equal(h.retries, 2);
    assert.equal(h.spansFailed, 0);
    assert.equal(h.lastError, undefined, 'cleared by the success');
    const waited = collector.requests[1]!.atMs - collector.requests[0]!.atMs;
    assert.ok(waited >= 950, `Retry-After: 1 honoured (waited ${waited} ms)`);
    assert.deepEqual(collector.requests[2]!.body, collector.requests[0]!.body, 'the same batch is re-sent');
  });

  test('a non-retryable answer fails the batch at once; retries stop after maxAttempts', async () => {
    collector.requests.length = 0;
    collector.script.push({ status: 400 });
    const ex = exporter(collector.url, { maxAttempts: 3 });
    ex.add(sampleSpans());
    await until('failed', () => ex.health().spansFailed === 4);
    assert.equal(collector.requests.length, 1);
    assert.match(ex.health().lastError ?? '', /HTTP 400/);
    collector.script.push({ status: 502 }, { status: 504 }, { status: 503 });
    ex.add(sampleSpans());
    await until('failed after 3 attempts', () => ex.health().spansFailed === 8, 5000);
    await ex.shutdown();
    assert.equal(collector.requests.length, 4);
    assert.equal(ex.health().retries, 2);
    assert.equal(ex.health().spansExported, 0);
  });

  test('the queue is bounded: a stalled collector makes it drop the oldest, counted, without blocking add()', async () => {
    collector.requests.length = 0;
    collector.script.push({ status: 200, hang: true });
    const ex = exporter(collector.url, { queueSize: 100, batchSize: 10 });
    ex.add(Array.from({ length: 10 }, (_, k) => makeSpan({ spanId: spanIdOf(0x1_0000 + k) })));
    await until('first batch in flight', () => collector.requests.length === 1);
    const started = process.hrtime.bigint();
    for (let k = 0; k < 1000; k++) ex.add([makeSpan({ spanId: spanIdOf(0x2_0000 + k) })]);
    const addMs = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(addMs < 200, `1000 add() calls took ${addMs.toFixed(1)} ms`);
    let h = ex.health();
    assert.equal(h.queueLength, 100);
    assert.equal(h.spansDropped, 900);
    collector.release();
    await until('queue drained', () => ex.health().spansExported === 110, 5000);
    await ex.shutdown();
    h = ex.health();
    assert.equal(h.spansDropped, 900);
    // The newest survived: the oldest were dropped.
    const ids = new Set(collector.spans().map((g) => g.span.spanId));
    assert.ok(ids.has(spanIdOf(0x2_0000 + 999)));
    assert.ok(!ids.has(spanIdOf(0x2_0000)));
  });

  test('a dead endpoint never blocks: network errors are retried, then counted as failed', async () => {
    // A port in our range nothing listens on.
    const dead = await new TestCollector().start(collector.port + 1);
    const deadUrl = dead.url;
    await dead.stop();
    const ex = exporter(deadUrl, { maxAttempts: 3, batchSize: 5 });
    const started = process.hrtime.bigint();
    for (let k = 0; k < 200; k++) ex.add([makeSpan({ spanId: spanIdOf(0x3_0000 + k) })]);
    const addMs = Number(process.hrtime.bigint() - started) / 1e6;
    assert.ok(addMs < 200, `add() took ${addMs.toFixed(1)} ms`);
    await until('a batch failed', () => ex.health().spansFailed >= 5, 5000);
    const h = ex.health();
    assert.ok(h.retries >= 2);
    assert.match(h.lastError ?? '', /ECONNREFUSED/);
    await ex.shutdown(200);
    const end = ex.health();
    assert.equal(end.spansExported, 0);
    assert.equal(end.spansExported + end.spansFailed + end.spansDropped + end.queueLength, 200, 'every span accounted for');
  });
});

describe('OTLP helpers', () => {
  test('Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('3', 0), 3000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4000), 6000);
    assert.equal(parseRetryAfter('soon', 0), undefined);
    assert.equal(parseRetryAfter(undefined, 0), undefined);
  });

  test('endpoint URLs', () => {
    assert.equal(tracesUrl('http://c:4318').href, 'http://c:4318/v1/traces');
    assert.equal(tracesUrl('https://tempo.example/otlp/v1/traces').href, 'https://tempo.example/otlp/v1/traces');
    assert.throws(() => tracesUrl('ftp://c'));
  });

  test('back-off grows exponentially with jitter, is capped, and never undercuts Retry-After', () => {
    const ex = new OtlpExporter({ endpoint: 'http://127.0.0.1:19499', log: quiet, initialBackoffMs: 100, maxBackoffMs: 1000, maxRetryAfterMs: 5000, random: () => 0 });
    assert.equal(ex.backoffMs(1), 50);
    assert.equal(ex.backoffMs(3), 200);
    assert.equal(ex.backoffMs(10), 500);
    assert.equal(ex.backoffMs(1, 2000), 2000);
    assert.equal(ex.backoffMs(1, 60_000), 5000, 'Retry-After is capped');
    void ex.shutdown(0);
  });

  test('64-bit ids, long durations and many spans round-trip', () => {
    const span = makeSpan({ traceId: '00000000000000001234567890abcdef', spanId: 'ffffffffffffffff', durationNs: 3_600_000_000_123, startTimeUs: 1_900_000_000_123_456 });
    const decoded = decodeRequest(encodeTraceRequest([span]));
    const s = decoded.resourceSpans![0]!.scopeSpans![0]!.spans![0]!;
    assert.equal(s.traceId, span.traceId);
    assert.equal(s.spanId, 'ffffffffffffffff');
    assert.equal(s.startTimeUnixNano, '1900000000123456000');
    assert.equal(s.endTimeUnixNano, (1_900_000_000_123_456_000n + 3_600_000_000_123n).toString());
    const many = Array.from({ length: 2000 }, (_, k) => makeSpan({ spanId: spanIdOf(k + 1), process: { pid: 100 + (k % 7) } }));
    const d = decodeRequest(encodeTraceRequest(many));
    assert.equal(d.resourceSpans!.length, 7);
    assert.equal(d.resourceSpans!.reduce((n, rs) => n + rs.scopeSpans![0]!.spans!.length, 0), 2000);
  });
});
