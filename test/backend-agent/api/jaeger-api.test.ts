import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Span } from '../../../backend-agent/src/model/span.js';
import type { JaegerSpan, JaegerTrace } from '../../../backend-agent/src/api/jaeger/trace-json.js';
import { T0_US } from '../fixtures/spans.js';
import { MS_US, SEED_TRACE, seedSpans } from '../fixtures/seed.js';
import { startTestServer, type TestServer } from '../fixtures/api-server.js';

interface Envelope<T> {
  data: T;
  total: number;
  limit: number;
  offset: number;
  errors: Array<{ code: number; msg: string; traceID?: string }> | null;
}

const NOW_US = T0_US + 3600 * 1e6; // an hour after the seed: inside Jaeger's default 2-day window

describe('Jaeger-compatible API', () => {
  let server: TestServer;
  let spans: Span[];

  before(async () => {
    spans = seedSpans();
    server = await startTestServer({ spans, nowUs: NOW_US });
  });
  after(() => server.close());

  async function getJson<T>(path: string, expectedStatus = 200): Promise<Envelope<T>> {
    const res = await server.get(path);
    assert.equal(res.status, expectedStatus, `${path}: ${res.text}`);
    assert.match(String(res.headers['content-type']), /^application\/json/);
    return res.json() as Envelope<T>;
  }

  async function expect400(path: string, pattern: RegExp): Promise<void> {
    const body = await getJson<null>(path, 400);
    assert.equal(body.data, null);
    assert.ok(body.errors && body.errors.length > 0);
    assert.equal(body.errors[0]!.code, 400);
    assert.match(body.errors.map((e) => e.msg).join('; '), pattern, path);
  }

  const traceIds = (body: Envelope<JaegerTrace[]>) => body.data.map((t) => t.traceID);

  test('GET /api/services: the envelope Grafana expects', async () => {
    const body = await getJson<string[]>('/api/services');
    assert.deepEqual(body, { data: ['frontend', 'orders', 'payments'], total: 3, limit: 0, offset: 0, errors: null });
  });

  test('GET /api/services/{service}/operations: distinct names; encoded and hostile names are just names', async () => {
    assert.deepEqual((await getJson<string[]>('/api/services/frontend/operations')).data, ['GET /api/items', 'POST /pay']);
    assert.deepEqual((await getJson<string[]>(`/api/services/${encodeURIComponent("' OR 1=1 --")}/operations`)).data, []);
    assert.deepEqual((await getJson<string[]>('/api/services/no%20such/operations')).data, []);
  });

  test('GET /api/operations?service=&spanKind=', async () => {
    assert.deepEqual((await getJson('/api/operations?service=frontend')).data, [
      { name: 'GET /api/items', spanKind: 'client' },
      { name: 'GET /api/items', spanKind: 'server' },
      { name: 'POST /pay', spanKind: 'client' },
    ]);
    assert.deepEqual((await getJson('/api/operations?service=frontend&spanKind=server')).data, [{ name: 'GET /api/items', spanKind: 'server' }]);
    assert.deepEqual((await getJson('/api/operations?service=frontend&spanKind=producer')).data, []);
    await expect400('/api/operations', /parameter 'service' is required/);
    await expect400('/api/operations?service=frontend&spanKind=weird', /spanKind/);
  });

  test('GET /api/traces?service=: full traces, most recent first', async () => {
    const body = await getJson<JaegerTrace[]>('/api/traces?service=orders');
    assert.deepEqual(traceIds(body), [SEED_TRACE.remote, SEED_TRACE.error, SEED_TRACE.ok]);
    assert.equal(body.errors, null);
    assert.equal(body.data[2]!.spans.length, 2, 'whole trace, both sides');
  });

  test('trace JSON field by field (units, references, tags, processes)', async () => {
    const [trace] = (await getJson<JaegerTrace[]>(`/api/traces/${SEED_TRACE.ok}`)).data;
    assert.ok(trace);
    const client = spans[0]!;
    const server = spans[1]!;
    assert.equal(trace.traceID, SEED_TRACE.ok);
    assert.equal(trace.warnings, null);
    assert.equal(trace.spans.length, 2);
    const [js, jc] = [trace.spans.find((s) => s.spanID === server.spanId)!, trace.spans.find((s) => s.spanID === client.spanId)!];

    assert.equal(jc.traceID, SEED_TRACE.ok);
    assert.equal(jc.operationName, 'GET /api/items');
    assert.deepEqual(jc.references, []);
    assert.equal(jc.startTime, T0_US, 'startTime is Unix µs');
    assert.equal(jc.duration, 2020, 'duration is µs: 2_020_000 ns');
    assert.deepEqual(jc.logs, []);
    assert.equal(jc.warnings, null);
    assert.equal(jc.flags, 1);

    assert.deepEqual(js.references, [{ refType: 'CHILD_OF', traceID: SEED_TRACE.ok, spanID: client.spanId }], 'assembled header link');
    assert.equal(js.startTime, T0_US + 10);
    assert.equal(js.duration, 2000);

    const tags = Object.fromEntries(js.tags.map((t) => [t.key, t]));
    assert.deepEqual(tags['http.request.method'], { key: 'http.request.method', type: 'string', value: 'GET' });
    assert.deepEqual(tags['url.path'], { key: 'url.path', type: 'string', value: '/api/items' });
    assert.deepEqual(tags['http.response.status_code'], { key: 'http.response.status_code', type: 'int64', value: 200 });
    assert.deepEqual(tags['server.address'], { key: 'server.address', type: 'string', value: 'localhost' });
    assert.deepEqual(tags['span.kind'], { key: 'span.kind', type: 'string', value: 'server' });
    assert.equal(tags['error'], undefined);
    assert.equal(tags['otel.status_code'], undefined, 'unset status has no status code tag');
    assert.deepEqual(tags['wiretrace.duration_ns'], { key: 'wiretrace.duration_ns', type: 'int64', value: 2_000_000 });
    assert.deepEqual(tags['wiretrace.link.method'], { key: 'wiretrace.link.method', type: 'string', value: 'header' });
    assert.deepEqual(tags['wiretrace.link.confidence'], { key: 'wiretrace.link.confidence', type: 'float64', value: 1 });
    assert.deepEqual(tags['wiretrace.trace_id_source'], { key: 'wiretrace.trace_id_source', type: 'string', value: 'w3c' });
    assert.deepEqual(tags['net.connection.id'], { key: 'net.connection.id', type: 'string', value: '1' });
    assert.deepEqual(tags['wiretrace.exchange_index'], { key: 'wiretrace.exchange_index', type: 'int64', value: 0 });
    assert.deepEqual(tags['http.request.size'], { key: 'http.request.size', type: 'int64', value: 120 });
    assert.deepEqual(tags['http.response.size'], { key: 'http.response.size', type: 'int64', value: 340 });
    assert.deepEqual(tags['wiretrace.peer_local'], { key: 'wiretrace.peer_local', type: 'bool', value: true });

    // Two processes, p1 and p2, in order of first appearance.
    assert.deepEqual(Object.keys(trace.processes).sort(), ['p1', 'p2']);
    const proc = trace.processes[js.processID]!;
    assert.equal(proc.serviceName, 'orders');
    const ptags = Object.fromEntries(proc.tags.map((t) => [t.key, t.value]));
    assert.deepEqual(ptags, {
      'process.pid': 2000,
      'process.executable.name': 'node',
      'process.command_line': 'node server.js',
      'host.name': 'host-a',
      'wiretrace.service_name.source': 'env:OTEL_SERVICE_NAME',
    });
    assert.notEqual(jc.processID, js.processID);
  });

  test('errors, sub-µs durations, floats and container ids in the JSON', async () => {
    const errorTrace = (await getJson<JaegerTrace[]>(`/api/traces/${SEED_TRACE.error}`)).data[0]!;
    const tags = Object.fromEntries(errorTrace.spans[0]!.tags.map((t) => [t.key, t]));
    assert.deepEqual(tags['error'], { key: 'error', type: 'bool', value: true });
    assert.deepEqual(tags['otel.status_code'], { key: 'otel.status_code', type: 'string', value: 'ERROR' });
    assert.deepEqual(tags['otel.status_description'], { key: 'otel.status_description', type: 'string', value: 'HTTP 500' });

    const remote = (await getJson<JaegerTrace[]>(`/api/traces/${SEED_TRACE.remote}`)).data[0]!.spans[0]!;
    assert.equal(remote.duration, 1, '400 ns rounds up to the 1 µs minimum');
    assert.ok(remote.tags.some((t) => t.key === 'wiretrace.duration_ns' && t.value === 400));

    const pay = (await getJson<JaegerTrace[]>(`/api/traces/${SEED_TRACE.payments}`)).data[0]!;
    const payServer = pay.spans.find((s: JaegerSpan) => s.tags.some((t) => t.key === 'span.kind' && t.value === 'server'))!;
    assert.deepEqual(payServer.tags.find((t) => t.key === 'app.ratio'), { key: 'app.ratio', type: 'float64', value: 0.25 });
    const ptags = Object.fromEntries(pay.processes[payServer.processID]!.tags.map((t) => [t.key, t.value]));
    assert.equal(ptags['container.id'], 'c0ffee');
    assert.equal(ptags['process.command_line'], 'java -jar "pay.jar"');
  });

  test('GET /api/traces/{id}: short 64-bit form, 404 and 400', async () => {
    const short = await getJson<JaegerTrace[]>('/api/traces/ABCDEF');
    assert.equal(short.data[0]!.traceID, SEED_TRACE.short);
    assert.equal(short.data[0]!.spans[0]!.duration, 2, '1500 ns rounds to 2 µs');
    const missing = await getJson<null>('/api/traces/0123456789abcdef', 404);
    assert.deepEqual(missing, { data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 404, msg: 'trace not found' }] });
    await expect400('/api/traces/not-a-trace-id', /malformed trace id/);
    await expect400(`/api/traces/${'a'.repeat(33)}`, /malformed trace id/);
    await expect400(`/api/traces/${encodeURIComponent("' OR 1=1 --")}`, /malformed trace id/);
  });

  test('GET /api/traces?traceID=...: found traces in data, misses in errors', async () => {
    const body = await getJson<JaegerTrace[]>(`/api/traces?traceID=${SEED_TRACE.ok}&traceID=${SEED_TRACE.payments}&traceID=dead`);
    assert.deepEqual(traceIds(body), [SEED_TRACE.ok, SEED_TRACE.payments]);
    assert.deepEqual(body.errors, [{ code: 404, msg: 'trace not found', traceID: '0000000000000000000000000000dead' }]);
  });

  test('search filters: operation, tags (JSON, logfmt, tag=), durations, time range, limit', async () => {
    const ids = async (query: string) => traceIds(await getJson<JaegerTrace[]>(`/api/traces?${query}`));
    assert.deepEqual(await ids('service=frontend&operation=POST%20%2Fpay'), [SEED_TRACE.payments]);
    const json = encodeURIComponent('{"http.response.status_code":"500"}');
    assert.deepEqual(await ids(`service=orders&tags=${json}`), [SEED_TRACE.error]);
    assert.deepEqual(await ids(`service=orders&tags=${encodeURIComponent('error=true')}`), [SEED_TRACE.error]);
    assert.deepEqual(await ids(`service=orders&tags=${encodeURIComponent('error=false')}`), [SEED_TRACE.remote, SEED_TRACE.ok]);
    assert.deepEqual(await ids(`service=orders&tags=${encodeURIComponent('{"error":"true","http.response.status_code":"500"}')}`), [SEED_TRACE.error]);
    assert.deepEqual(await ids('service=orders&tag=http.response.status_code:200'), [SEED_TRACE.remote, SEED_TRACE.ok]);
    assert.deepEqual(await ids(`service=payments&tags=${encodeURIComponent('app.ratio=0.25')}`), [SEED_TRACE.payments]);
    assert.deepEqual(await ids('service=orders&minDuration=3ms'), [SEED_TRACE.error]);
    assert.deepEqual(await ids('service=orders&minDuration=1.5ms&maxDuration=2.5ms'), [SEED_TRACE.ok]);
    assert.deepEqual(await ids('service=orders&maxDuration=1us'), [SEED_TRACE.remote]);
    assert.deepEqual(await ids(`service=orders&start=${T0_US + 5 * MS_US}&end=${T0_US + 15 * MS_US}`), [SEED_TRACE.error]);
    assert.deepEqual(await ids(`service=orders&end=${T0_US - 1}`), []);
    assert.deepEqual(await ids('service=orders&limit=1'), [SEED_TRACE.remote]);
    assert.deepEqual(await ids('service=orders&limit=0'), [SEED_TRACE.remote, SEED_TRACE.error, SEED_TRACE.ok], '0 means the default');
    // Default window: `now` - 2 days .. `now`; a later clock would not see the seed.
    assert.deepEqual(await ids(`service=orders&lookback=1m`), [], 'T0 is an hour before now');
    assert.deepEqual(await ids(`service=orders&lookback=2h`), [SEED_TRACE.remote, SEED_TRACE.error, SEED_TRACE.ok]);
  });

  test('hostile values return empty results, not errors or data', async () => {
    for (const evil of ["' OR 1=1 --", '" OR ""="', "x'); DROP TABLE spans; --", '%']) {
      const e = encodeURIComponent(evil);
      assert.deepEqual((await getJson<JaegerTrace[]>(`/api/traces?service=${e}`)).data, []);
      assert.deepEqual((await getJson<JaegerTrace[]>(`/api/traces?service=orders&operation=${e}`)).data, []);
      assert.deepEqual((await getJson<JaegerTrace[]>(`/api/traces?service=orders&tags=${encodeURIComponent(JSON.stringify({ [evil]: evil }))}`)).data, []);
    }
    assert.equal((await getJson<string[]>('/api/services')).data.length, 3, 'table intact');
  });

  test('400 on bad parameters, in Jaeger error shape', async () => {
    await expect400('/api/traces', /parameter 'service' is required/);
    await expect400('/api/traces?service=orders&limit=-1', /'limit'/);
    await expect400('/api/traces?service=orders&limit=abc', /'limit'/);
    await expect400('/api/traces?service=orders&limit=100000', /'limit'/);
    await expect400('/api/traces?service=orders&minDuration=fast', /'minDuration'.*not a duration/);
    await expect400('/api/traces?service=orders&maxDuration=10', /'maxDuration'/);
    await expect400('/api/traces?service=orders&minDuration=-1ms', /must not be negative/);
    await expect400('/api/traces?service=orders&minDuration=5ms&maxDuration=1ms', /'maxDuration' should be greater than 'minDuration'/);
    await expect400('/api/traces?service=orders&start=yesterday', /'start'/);
    await expect400('/api/traces?service=orders&start=-5', /'start'/);
    await expect400(`/api/traces?service=orders&start=${T0_US}&end=${T0_US - 1}`, /'start' must not be after 'end'/);
    await expect400(`/api/traces?service=orders&tags=${encodeURIComponent('{"a":')}`, /malformed 'tags'/);
    await expect400(`/api/traces?service=orders&tag=nocolon`, /malformed 'tag'/);
    await expect400(`/api/traces?traceID=xyz`, /cannot parse traceID/);
    await expect400('/api/dependencies?endTs=soon', /'endTs'/);
    await expect400('/api/dependencies?lookback=-1', /'lookback'/);
  });

  test('GET /api/dependencies?endTs=<ms>&lookback=<ms>', async () => {
    const endTs = Math.floor(T0_US / 1000) + 60_000;
    const body = await getJson<unknown[]>(`/api/dependencies?endTs=${endTs}&lookback=120000`);
    assert.deepEqual(body.data, [
      { parent: '10.0.0.9', child: 'orders', callCount: 1 },
      { parent: 'client-app', child: 'frontend', callCount: 1 },
      { parent: 'frontend', child: 'orders', callCount: 2 },
      { parent: 'frontend', child: 'payments', callCount: 1 },
    ]);
    assert.deepEqual((await getJson<unknown[]>(`/api/dependencies?endTs=${Math.floor(T0_US / 1000) - 1}&lookback=1000`)).data, []);
    // Defaults: now and 24 h back include the seed.
    assert.equal((await getJson<unknown[]>('/api/dependencies')).data.length, 4);
  });
});
