/**
 * The agent end to end with OTLP export (and sampling): a recorded capture
 * replayed through the real decoder, pipeline, window, store and exporter,
 * configured by command-line flags, sends to a real HTTP server on loopback
 * that decodes with the official OpenTelemetry protos. Health and /metrics
 * report the counters.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../../backend-agent/src/config.js';
import { startAgent, type RunningAgent } from '../../../backend-agent/src/agent.js';
import { createLogger } from '../../../backend-agent/src/util/log.js';
import type { AgentHealth } from '../../../backend-agent/src/model/health.js';
import type { SocketTuple } from '../../../backend-agent/src/model/events.js';
import { StreamBuilder } from '../fixtures/capture-stream.js';
import { TestCollector, attrs, until } from './otlp-collector.js';

const checkout = { pid: 4001, comm: 'checkout' };
const ledger = { pid: 4002, comm: 'ledger' };
const web = { pid: 4003, comm: 'web' };
const api = { pid: 4004, comm: 'api' };
const cs: SocketTuple = { family: 'ipv4', local: { address: '127.0.0.1', port: 41000 }, remote: { address: '127.0.0.1', port: 9000 } };
const ss: SocketTuple = { family: 'ipv4', local: cs.remote, remote: cs.local };
const ws: SocketTuple = { family: 'ipv4', local: { address: '127.0.0.1', port: 42000 }, remote: { address: '127.0.0.1', port: 9100 } };
const as: SocketTuple = { family: 'ipv4', local: ws.remote, remote: ws.local };
const TRACE = '0af7651916cd43dd8448eb211c80319c';

/** 5 calls checkout -> ledger in one W3C trace (the last a 500), 5 header-less calls web -> api. */
function captureFile(dir: string): string {
  const b = new StreamBuilder(BigInt(Date.now() - 60_000) * 1_000_000n).open(1n, checkout, 'client', cs).open(2n, ledger, 'server', ss);
  b.open(3n, web, 'client', ws).open(4n, api, 'server', as);
  for (let i = 0; i < 5; i++) {
    const req = `POST /ledger/entries HTTP/1.1\r\nHost: ledger\r\nContent-Length: 2\r\ntraceparent: 00-${TRACE}-${(0xa0 + i).toString(16).padStart(16, '0')}-01\r\n\r\n{}`;
    const res = `HTTP/1.1 ${i === 4 ? 500 : 201} X\r\nContent-Length: 0\r\n\r\n`;
    b.data(1n, checkout, 'client', cs, 'egress', req).data(2n, ledger, 'server', ss, 'ingress', req);
    b.data(2n, ledger, 'server', ss, 'egress', res).data(1n, checkout, 'client', cs, 'ingress', res).advance(5_000_000n);
  }
  for (let i = 0; i < 5; i++) {
    const req = `GET /api/items/${i} HTTP/1.1\r\nHost: api\r\n\r\n`;
    const res = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
    b.data(3n, web, 'client', ws, 'egress', req).data(4n, api, 'server', as, 'ingress', req);
    b.data(4n, api, 'server', as, 'egress', res).data(3n, web, 'client', ws, 'ingress', res).advance(5_000_000n);
  }
  const file = path.join(dir, 'capture.wtrc');
  fs.writeFileSync(file, b.bytes());
  return file;
}

async function start(dir: string, port: number, extra: string[]): Promise<RunningAgent> {
  const parsed = parseConfig(['--replay', captureFile(dir), '--db', path.join(dir, 'spans.db'), '--listen', `127.0.0.1:${port}`, '--trace-window', '100ms', ...extra], {});
  assert.equal(parsed.kind, 'run');
  if (parsed.kind !== 'run') throw new Error('unreachable');
  return startAgent(parsed.config, createLogger('error', () => {}));
}

async function get(agent: RunningAgent, p: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${agent.port}${p}`);
  return res.text();
}

async function health(agent: RunningAgent): Promise<AgentHealth> {
  return JSON.parse(await get(agent, '/api/health')) as AgentHealth;
}

function metric(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('agent with --otlp-endpoint', () => {
  let collector: TestCollector;
  let dir: string;
  before(async () => {
    collector = await new TestCollector().start(19460);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wiretrace-otlp-'));
  });
  after(async () => {
    await collector.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every span is exported, header parents and inferred socket joins included; counters in health and /metrics', async () => {
    collector.requests.length = 0;
    const agent = await start(fs.mkdtempSync(path.join(dir, 'a-')), 19470, [
      '--otlp-endpoint', collector.url, '--otlp-header', 'Authorization=Bearer t0ken-123', '--otlp-compression', 'gzip', '--otlp-batch-size', '8',
    ]);
    try {
      await until('20 spans exported', () => collector.spans().length >= 20, 15_000);
      assert.equal(collector.spans().length, 20);
      for (const r of collector.requests) {
        assert.equal(r.headers.authorization, 'Bearer t0ken-123');
        assert.equal(r.headers['content-encoding'], 'gzip');
        assert.equal(r.decodeError, undefined);
        assert.ok((r.decoded?.resourceSpans ?? []).reduce((n, rs) => n + (rs.scopeSpans?.[0]?.spans?.length ?? 0), 0) <= 8, 'batch size honoured');
      }
      const got = collector.spans();
      const services = new Set(got.map((g) => g.resource['service.name']));
      assert.deepEqual([...services].sort(), ['api', 'checkout', 'ledger', 'web']);
      for (const g of got) {
        assert.equal(g.resource['host.name'], os.hostname());
        assert.equal(typeof g.resource['process.pid'], 'number');
        assert.equal(g.scope?.name, 'wiretrace');
      }
      // The W3C trace: 10 spans under the propagated id; each ledger server span's parent is the checkout client span.
      const w3c = got.filter((g) => g.span.traceId === TRACE);
      assert.equal(w3c.length, 10);
      const clientIds = new Set(w3c.filter((g) => g.span.kind === 'SPAN_KIND_CLIENT').map((g) => g.span.spanId));
      for (const g of w3c.filter((x) => x.span.kind === 'SPAN_KIND_SERVER')) assert.ok(clientIds.has(g.span.parentSpanId ?? ''), 'header parent');
      assert.equal(w3c.filter((g) => g.span.status?.code === 'STATUS_CODE_ERROR').length, 2, 'the 500 on both sides');
      // Header-less web -> api: each server span joined to its client span by socket (parent + link), one trace id per call.
      const apiServers = got.filter((g) => g.resource['service.name'] === 'api');
      assert.equal(apiServers.length, 5);
      for (const g of apiServers) {
        const client = got.find((c) => c.span.spanId === g.span.parentSpanId);
        assert.ok(client, 'parent is exported');
        assert.equal(client.resource['service.name'], 'web');
        assert.equal(client.span.traceId, g.span.traceId, 'same trace id on both sides');
        assert.equal(attrs(g.span.links?.[0]?.attributes)['wiretrace.link.method'], 'socket-join');
      }
      const h = await health(agent);
      assert.equal(h.export?.otlp?.spansExported, 20);
      assert.equal(h.export?.otlp?.spansDropped, 0);
      assert.equal(h.export?.otlp?.queueLength, 0);
      assert.equal(h.sampling?.enabled, false, 'no sampling: the window only feeds export');
      assert.equal(h.pipeline.spansWritten, 20);
      const metrics = await get(agent, '/metrics');
      assert.equal(metric(metrics, 'wiretrace_otlp_spans_exported_total'), 20);
      assert.equal(metric(metrics, 'wiretrace_otlp_spans_dropped_total'), 0);
      assert.equal(metric(metrics, 'wiretrace_otlp_queue_length'), 0);
      assert.equal(metric(metrics, 'wiretrace_otlp_up'), 1);
    } finally {
      await agent.stop();
    }
  });

  test('--sample-rate 0 keeps only the trace with an error, whole, in the store and in the export', async () => {
    collector.requests.length = 0;
    const agent = await start(fs.mkdtempSync(path.join(dir, 'b-')), 19471, ['--otlp-endpoint', collector.url, '--sample-rate', '0']);
    try {
      await until('10 spans exported', () => collector.spans().length >= 10, 15_000);
      let h = await health(agent);
      for (let k = 0; k < 100 && (h.sampling?.bufferedSpans ?? 1) > 0; k++) {
        await new Promise((r) => setTimeout(r, 50));
        h = await health(agent);
      }
      assert.equal(collector.spans().length, 10);
      assert.ok(collector.spans().every((g) => g.span.traceId === TRACE));
      assert.equal(h.sampling?.enabled, true);
      assert.equal(h.sampling?.tracesKept, 1);
      assert.equal(h.sampling?.tracesDropped, 5, 'five header-less calls, each a trace of two spans');
      assert.equal(h.sampling?.spansKept, 10);
      assert.equal(h.sampling?.spansDropped, 10);
      assert.equal(h.sampling?.keptByReason.error, 1);
      const stored = JSON.parse(await get(agent, '/api/v1/spans?limit=100')) as { spans: Array<{ traceId: string }> };
      assert.equal(stored.spans.length, 10);
      assert.ok(stored.spans.every((s) => s.traceId === TRACE));
      const metrics = await get(agent, '/metrics');
      assert.equal(metric(metrics, 'wiretrace_sampling_traces_total{decision="kept"}'), 1);
      assert.equal(metric(metrics, 'wiretrace_sampling_traces_total{decision="dropped"}'), 5);
    } finally {
      await agent.stop();
    }
  });

  test('a dead endpoint does not hold ingest: every span is stored, failures are counted', async () => {
    const agent = await start(fs.mkdtempSync(path.join(dir, 'c-')), 19472, ['--otlp-endpoint', 'http://127.0.0.1:19499']);
    try {
      await until('replayed spans stored', () => agent.health().pipeline.spansWritten === 20, 10_000);
      await until('export failing', () => agent.health().export?.otlp?.lastError !== undefined, 10_000);
      const h = await health(agent);
      assert.match(h.export?.otlp?.lastError ?? '', /ECONNREFUSED/);
      assert.equal(h.export?.otlp?.spansExported, 0);
      assert.equal(h.store.spanCount, 20);
      assert.equal(metric(await get(agent, '/metrics'), 'wiretrace_otlp_up'), 0);
    } finally {
      const t0 = Date.now();
      await agent.stop();
      assert.ok(Date.now() - t0 < 8000, `stop took ${Date.now() - t0} ms`);
    }
  });
});
