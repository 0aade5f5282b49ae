import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { gunzipSync } from 'node:zlib';
import { openStore } from '../../../backend-agent/src/store/index.js';
import { T0_US } from '../fixtures/spans.js';
import { SEED_TRACE, seedSpans } from '../fixtures/seed.js';
import { fixedHealth, makeHealth } from '../fixtures/health.js';
import { rawGet, startTestServer } from '../fixtures/api-server.js';
import { openTempStore, removeStoreDir } from '../fixtures/temp-store.js';

const TOKEN = 's3cret-token';
const NOW_US = T0_US + 60e6;

describe('bearer token', () => {
  test('every endpoint except /api/health needs the token', async () => {
    const server = await startTestServer({ spans: seedSpans(), token: TOKEN, nowUs: NOW_US });
    try {
      const protectedPaths = [
        '/api/services',
        '/api/services/orders/operations',
        '/api/operations?service=orders',
        '/api/traces?service=orders',
        `/api/traces/${SEED_TRACE.ok}`,
        '/api/dependencies',
        '/api/v1/services',
        `/api/v1/traces/${SEED_TRACE.ok}`,
        '/api/v1/spans',
        '/api/v1/dependencies',
        '/metrics',
        '/no/such/path',
        '/api/traces/%E0%A4%A', // bad encoding: still 401 first
      ];
      for (const path of protectedPaths) {
        const none = await server.get(path);
        assert.equal(none.status, 401, path);
        assert.match(String(none.headers['www-authenticate']), /^Bearer/, path);
        const wrong = await server.get(path, { Authorization: 'Bearer nope' });
        assert.equal(wrong.status, 401, path);
        const basic = await server.get(path, { Authorization: `Basic ${Buffer.from(`u:${TOKEN}`).toString('base64')}` });
        assert.equal(basic.status, 401, path);
      }
      // Jaeger paths answer 401 in Jaeger's shape.
      const jaeger = (await server.get('/api/services')).json();
      assert.deepEqual(jaeger, { data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 401, msg: 'missing or invalid bearer token' }] });
      assert.deepEqual((await server.get('/api/v1/services')).json(), { errors: [{ code: 401, msg: 'missing or invalid bearer token' }] });

      for (const path of protectedPaths.slice(0, 11)) {
        const ok = await server.get(path, { Authorization: `Bearer ${TOKEN}` });
        assert.equal(ok.status, 200, path);
      }
      assert.equal((await server.get('/api/services', { Authorization: `bearer ${TOKEN}` })).status, 200, 'scheme is case-insensitive');
      assert.equal((await server.get('/api/health')).status, 200, 'health without token');
    } finally {
      await server.close();
    }
  });
});

describe('HTTP behaviour', () => {
  test('gzip when accepted (and big enough), identity otherwise', async () => {
    const server = await startTestServer({ spans: seedSpans(), nowUs: NOW_US });
    try {
      const path = '/api/traces?service=orders';
      const plain = await server.get(path);
      assert.equal(plain.headers['content-encoding'], undefined);
      assert.equal(plain.headers['vary'], 'Accept-Encoding');
      const gz = await server.get(path, { 'Accept-Encoding': 'gzip, deflate, br' });
      assert.equal(gz.headers['content-encoding'], 'gzip');
      assert.equal(Number(gz.headers['content-length']), gz.raw.length);
      assert.ok(gz.raw.length < plain.raw.length);
      assert.deepEqual(JSON.parse(gunzipSync(gz.raw).toString('utf8')), plain.json());
      assert.equal((await server.get(path, { 'Accept-Encoding': 'gzip;q=0, identity' })).headers['content-encoding'], undefined);
      assert.equal((await server.get(path, { 'Accept-Encoding': '*' })).headers['content-encoding'], 'gzip');
      const small = await server.get('/api/services', { 'Accept-Encoding': 'gzip' });
      assert.equal(small.headers['content-encoding'], undefined, 'tiny bodies are not worth compressing');
    } finally {
      await server.close();
    }
  });

  test('unknown paths 404, other methods 405, HEAD has headers only, bad encoding 400', async () => {
    const server = await startTestServer({ spans: seedSpans(), nowUs: NOW_US });
    try {
      const missing = await server.get('/api/nothing');
      assert.equal(missing.status, 404);
      assert.equal((missing.json() as { errors: unknown[] }).errors.length, 1);
      assert.equal((await server.get('/nothing')).status, 404);
      const post = await rawGet(`${server.baseUrl}/api/services`, {}, 'POST');
      assert.equal(post.status, 405);
      assert.equal(post.headers['allow'], 'GET, HEAD');
      const head = await rawGet(`${server.baseUrl}/api/services`, {}, 'HEAD');
      assert.equal(head.status, 200);
      assert.equal(head.raw.length, 0);
      assert.ok(Number(head.headers['content-length']) > 0);
      const bad = await server.get('/api/services/%E0%A4%A/operations');
      assert.equal(bad.status, 400);
      assert.match(bad.text, /malformed percent-encoding/);
      assert.equal((await server.get('/api/services/')).status, 200, 'trailing slash');
    } finally {
      await server.close();
    }
  });

  test('/api/health serves the HealthSource as is, 200 even when degraded', async () => {
    const health = makeHealth({ status: 'degraded', store: { path: '/x', spanCount: 1, sizeBytes: 1, writeError: 'disk full' } });
    const server = await startTestServer({ health: fixedHealth(health) });
    try {
      const res = await server.get('/api/health');
      assert.equal(res.status, 200);
      assert.deepEqual(res.json(), health);
    } finally {
      await server.close();
    }
  });

  test('/metrics: exposition format, request counts by route template, promtool-clean', async (t) => {
    const server = await startTestServer({ spans: seedSpans(), nowUs: NOW_US });
    try {
      await server.get(`/api/traces/${SEED_TRACE.ok}`);
      await server.get(`/api/traces/${SEED_TRACE.error}`);
      await server.get('/api/traces/zzz');
      await server.get('/nope');
      const res = await server.get('/metrics');
      assert.equal(res.status, 200);
      assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
      const lines = res.text.split('\n');
      assert.ok(lines.includes('wiretrace_http_api_requests_total{route="/api/traces/{traceID}",code="200"} 2'), res.text);
      assert.ok(lines.includes('wiretrace_http_api_requests_total{route="/api/traces/{traceID}",code="400"} 1'));
      assert.ok(lines.includes('wiretrace_http_api_requests_total{route="unmatched",code="404"} 1'));
      assert.ok(lines.includes(`wiretrace_store_spans ${seedSpans().length}`), 'span count read from the store');
      assert.ok(lines.some((l) => /^wiretrace_store_size_bytes \d+$/.test(l) && Number(l.split(' ')[1]) > 0));
      assert.ok(lines.includes('wiretrace_capture_up 1'));
      const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();
      if (!promtool) {
        t.diagnostic('promtool not installed: exposition not checked with promtool');
        return;
      }
      assert.equal(execFileSync(promtool, ['check', 'metrics'], { input: res.text, encoding: 'utf8' }).trim(), '');
    } finally {
      await server.close();
    }
  });

  test('the logger gets one structured record per request, without the token', async () => {
    const server = await startTestServer({ token: TOKEN });
    try {
      await server.get('/api/services', { Authorization: `Bearer ${TOKEN}` });
      await new Promise((r) => setTimeout(r, 20));
      const record = server.logs.find((l) => l.event === 'api request');
      assert.ok(record);
      assert.equal(record.route, '/api/services');
      assert.equal(record.status, 200);
      assert.equal(record.method, 'GET');
      assert.equal(typeof record.durationMs, 'number');
      assert.ok(!JSON.stringify(server.logs).includes(TOKEN));
    } finally {
      await server.close();
    }
  });

  test('a handler failure is a 500 with a generic message, logged', async () => {
    const store = openTempStore();
    const broken = Object.create(store) as typeof store;
    broken.services = () => {
      throw new Error('kaboom');
    };
    const server = await startTestServer({ store: broken });
    try {
      const res = await server.get('/api/services');
      assert.equal(res.status, 500);
      assert.deepEqual(res.json(), { data: null, total: 0, limit: 0, offset: 0, errors: [{ code: 500, msg: 'internal error' }] });
      assert.ok(server.logs.some((l) => l.event === 'api handler failed' && l.error === 'kaboom'));
    } finally {
      await server.close();
      store.close();
      removeStoreDir(store);
    }
  });

  test('a read-only store serves every query endpoint', async () => {
    const writer = openTempStore();
    writer.insertSpans(seedSpans());
    writer.close();
    const readonly = openStore({ path: writer.path, retention: {}, readonly: true });
    const server = await startTestServer({ store: readonly, nowUs: NOW_US });
    try {
      assert.equal((await server.get('/api/services')).status, 200);
      const traces = (await server.get('/api/traces?service=orders')).json() as { data: unknown[] };
      assert.equal(traces.data.length, 3);
      assert.equal((await server.get(`/api/v1/traces/${SEED_TRACE.ok}`)).status, 200);
      assert.equal((await server.get('/metrics')).status, 200);
    } finally {
      await server.close();
      readonly.close();
      removeStoreDir(writer);
    }
  });
});
