import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Span } from '../../../backend-agent/src/model/span.js';
import type { DependencyStats } from '../../../backend-agent/src/store/index.js';
import type { TraceSummary } from '../../../backend-agent/src/api/native/trace-summary.js';
import { T0_US } from '../fixtures/spans.js';
import { MS_US, SEED_TRACE, seedSpans } from '../fixtures/seed.js';
import { startTestServer, type TestServer } from '../fixtures/api-server.js';

const NOW_US = T0_US + 60e6;

describe('native API /api/v1', () => {
  let server: TestServer;
  let spans: Span[];

  before(async () => {
    spans = seedSpans();
    server = await startTestServer({ spans, nowUs: NOW_US });
  });
  after(() => server.close());

  async function getJson<T>(path: string, expectedStatus = 200): Promise<T> {
    const res = await server.get(path);
    assert.equal(res.status, expectedStatus, `${path}: ${res.text}`);
    return res.json() as T;
  }

  async function expect400(path: string, pattern: RegExp): Promise<void> {
    const body = await getJson<{ errors: Array<{ code: number; msg: string }> }>(path, 400);
    assert.equal(body.errors[0]!.code, 400);
    assert.match(body.errors.map((e) => e.msg).join('; '), pattern);
  }

  test('GET /api/v1/traces/{id}: the full Span model after assembly', async () => {
    const body = await getJson<{ traceId: string; spans: Span[] }>(`/api/v1/traces/${SEED_TRACE.ok}`);
    assert.equal(body.traceId, SEED_TRACE.ok);
    const [client, server_] = body.spans;
    assert.deepEqual({ ...client }, spans[0], 'client span unchanged (root of this trace)');
    assert.equal(server_!.parentSpanId, spans[0]!.spanId);
    assert.deepEqual(server_!.parentLink, { traceId: SEED_TRACE.ok, spanId: spans[0]!.spanId, method: 'header', confidence: 1 });
    assert.equal(server_!.durationNs, 2_000_000, 'ns precision kept');
    assert.deepEqual(server_!.network, spans[1]!.network);
    assert.deepEqual(await getJson('/api/v1/traces/abc', 404), { errors: [{ code: 404, msg: 'trace not found' }] });
    await expect400('/api/v1/traces/xyz', /malformed trace id/);
  });

  test('GET /api/v1/traces: summaries, newest first', async () => {
    const body = await getJson<{ traces: TraceSummary[] }>('/api/v1/traces?service=frontend&limit=2');
    assert.deepEqual(body.traces.map((t) => t.traceId), [SEED_TRACE.short, SEED_TRACE.payments]);
    const pay = body.traces[1]!;
    assert.deepEqual(pay, {
      traceId: SEED_TRACE.payments,
      rootService: 'frontend',
      rootName: 'POST /pay',
      startTimeUs: T0_US + 20 * MS_US,
      durationNs: 5_020_000,
      spanCount: 2,
      errorCount: 0,
      services: ['frontend', 'payments'],
    });
    const errors = await getJson<{ traces: TraceSummary[] }>(`/api/v1/traces?tags=${encodeURIComponent('error=true')}`);
    assert.deepEqual(errors.traces.map((t) => [t.traceId, t.errorCount]), [[SEED_TRACE.error, 2]]);
  });

  test('GET /api/v1/spans: raw spans with filters and limits', async () => {
    const all = await getJson<{ spans: Span[] }>('/api/v1/spans');
    assert.equal(all.spans.length, spans.length);
    assert.equal(all.spans[0]!.traceId, SEED_TRACE.short, 'newest first');
    const clients = await getJson<{ spans: Span[] }>('/api/v1/spans?service=frontend&kind=client&limit=2');
    assert.deepEqual(clients.spans.map((s) => s.traceId), [SEED_TRACE.payments, SEED_TRACE.error]);
    assert.equal(clients.spans[0]!.parentSpanId, undefined, 'raw: not assembled');
    const errors = await getJson<{ spans: Span[] }>('/api/v1/spans?status=error&kind=server');
    assert.deepEqual(errors.spans.map((s) => s.service), ['orders']);
    const window = await getJson<{ spans: Span[] }>(`/api/v1/spans?start=${T0_US + 15 * MS_US}&end=${T0_US + 35 * MS_US}`);
    assert.equal(window.spans.length, 3);
    const byTrace = await getJson<{ spans: Span[] }>(`/api/v1/spans?traceId=${SEED_TRACE.payments}&minDuration=5ms`);
    assert.equal(byTrace.spans.length, 2);
    assert.deepEqual((await getJson<{ spans: Span[] }>(`/api/v1/spans?service=${encodeURIComponent("' OR 1=1 --")}`)).spans, []);
    await expect400('/api/v1/spans?kind=internal', /'kind' must be one of client, server/);
    await expect400('/api/v1/spans?status=bad', /'status'/);
    await expect400('/api/v1/spans?limit=0', /'limit'/);
    await expect400('/api/v1/spans?limit=10001', /'limit'/);
    await expect400('/api/v1/spans?minDuration=2&traceId=nothex', /'minDuration'.*; .*'traceId'/);
  });

  test('GET /api/v1/services and operations', async () => {
    assert.deepEqual(await getJson('/api/v1/services'), { services: ['frontend', 'orders', 'payments'] });
    assert.deepEqual(await getJson('/api/v1/services/payments/operations'), { operations: [{ name: 'POST /pay', kind: 'server' }] });
    assert.deepEqual(await getJson('/api/v1/services/frontend/operations?kind=server'), {
      operations: [{ name: 'GET /api/items', kind: 'server' }],
    });
    await expect400('/api/v1/services/frontend/operations?kind=x', /'kind'/);
  });

  test('GET /api/v1/dependencies: counts, errors and both sides latency', async () => {
    const body = await getJson<{ startUs: number; endUs: number; dependencies: DependencyStats[] }>(
      `/api/v1/dependencies?start=${T0_US}&end=${T0_US + 60 * MS_US}`,
    );
    assert.equal(body.startUs, T0_US);
    const fo = body.dependencies.find((d) => d.parent === 'frontend' && d.child === 'orders')!;
    assert.deepEqual(fo, {
      parent: 'frontend',
      child: 'orders',
      callCount: 2,
      errorCount: 1,
      client: { count: 2, p50Ns: 2_020_000, p95Ns: 30_020_000, p99Ns: 30_020_000 },
      server: { count: 2, p50Ns: 2_000_000, p95Ns: 30_000_000, p99Ns: 30_000_000 },
      requestBytes: 240,
      responseBytes: 680,
      networkTimeNs: 20_000,
    });
    const remote = body.dependencies.find((d) => d.parent === '10.0.0.9')!;
    assert.equal(remote.client, undefined);
    // Default window is the last hour before now.
    assert.equal((await getJson<{ dependencies: unknown[] }>('/api/v1/dependencies')).dependencies.length, 4);
    await expect400(`/api/v1/dependencies?start=${T0_US}&end=${T0_US - 1}`, /'start' must not be after 'end'/);
  });
});
