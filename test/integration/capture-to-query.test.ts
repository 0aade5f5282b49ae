/**
 * The spine, end to end: the real loader attaches eBPF programs, the demo's
 * real processes (Node.js and Python) talk over loopback, and what the agent
 * serves over its Jaeger-compatible API is checked against what the load
 * generator sent and what every service counted.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { computeExpectations, type Expectations } from '../../demo/expect.mjs';
import { DATASTORES, SERVICES, LOADGEN, ports } from '../../demo/topology.mjs';
import { ebpfUnavailable, getJson, requireBuilt, run, startAgent, stop, tempDir, type AgentHandle } from './helpers.js';
import { tag, type JaegerSpan, type JaegerTrace } from './jaeger-json.js';

interface LoadgenRequest {
  method: string;
  path: string;
  route: string;
  traceId: string | null;
  status: number | null;
}

const skipReason = ebpfUnavailable();
const LOAD_SECONDS = Number(process.env.WIRETRACE_IT_SECONDS ?? 30);
const RATE = 30;
const PORT_BASE = Number(process.env.WIRETRACE_IT_PORT_BASE ?? 18180);
// Capture only the demo's ports (its services' and the datastores'), so other
// traffic on this host (another agent's demo, say) cannot skew the counts;
// this exercises the port filter.
const DEMO_PORTS = Object.values(ports(PORT_BASE)).map(String);

describe('capture to query (eBPF, real demo processes)', { skip: skipReason }, () => {
  let agent: AgentHandle;
  let expectations: Expectations;
  let requests: LoadgenRequest[];

  before(async () => {
    requireBuilt();
    agent = await startAgent(DEMO_PORTS.flatMap((p) => ['--port', p]));
    const stateDir = tempDir('wiretrace-demo-');
    const demo = run('node', [
      'demo/run.mjs',
      '--load',
      '--rate',
      String(RATE),
      '--duration',
      String(LOAD_SECONDS),
      '--state-dir',
      stateDir,
      '--port-base',
      String(PORT_BASE),
    ]);
    const code = await demo.exited;
    assert.equal(code, 0, `demo run failed: ${demo.stderr()}`);
    expectations = computeExpectations(stateDir);
    assert.ok(expectations.ok, `demo ground truth is inconsistent: ${expectations.problems.join('; ')}`);
    const loadgen = JSON.parse(fs.readFileSync(path.join(stateDir, 'loadgen.json'), 'utf8')) as { requests: LoadgenRequest[] };
    requests = loadgen.requests;
    // Spans are written by the agent's one-second tick; give it a few.
    await new Promise((r) => setTimeout(r, 4000));
  });

  after(async () => {
    if (agent) {
      const code = await stop(agent.proc);
      assert.equal(code, 0, `agent did not shut down cleanly: ${agent.proc.stderr().slice(-2000)}`);
    }
  });

  test('every demo service is named from its process, on both sides of its calls', async () => {
    const { body } = await getJson<{ data: string[] }>(`${agent.url}/api/services`);
    for (const s of [...SERVICES, LOADGEN]) assert.ok(body.data.includes(s.expectedName), `${s.expectedName} in ${body.data.join(',')}`);
    // PostgreSQL and Redis, when the runner could start them: named from their
    // executables (redis-server by how it was invoked, not the redis-check-rdb it links to).
    if (expectations.databases) for (const d of DATASTORES) assert.ok(body.data.includes(d.expectedName), `${d.expectedName} in ${body.data.join(',')}`);
  });

  test('each loadgen request with traceparent is a client span with its method, path and status', async () => {
    const sample = requests.filter((r) => r.traceId && r.status !== null).slice(0, 40);
    assert.ok(sample.length >= 20);
    for (const r of sample) {
      const { status, body } = await getJson<{ data: JaegerTrace[] }>(`${agent.url}/api/traces/${r.traceId}`);
      assert.equal(status, 200, `trace ${r.traceId} not found`);
      const trace = body.data[0];
      assert.ok(trace);
      const service = (s: JaegerSpan): string => trace.processes[s.processID]?.serviceName ?? '?';
      const client = trace.spans.find((s) => service(s) === 'loadgen' && tag(s, 'span.kind') === 'client');
      assert.ok(client, `loadgen client span in ${r.traceId}`);
      assert.equal(tag(client, 'http.request.method'), r.method);
      assert.equal(tag(client, 'url.path'), r.path.split('?')[0]);
      assert.equal(tag(client, 'http.response.status_code'), r.status);
      const server = trace.spans.find((s) => service(s) === 'frontend' && tag(s, 'span.kind') === 'server');
      assert.ok(server, `frontend server span in ${r.traceId}`);
      assert.equal(tag(server, 'http.response.status_code'), r.status);
      assert.deepEqual(server.references.map((x) => x.spanID), [client.spanID], 'server span is the child of the client span');
    }
  });

  test('a trace that carried traceparent returns every propagated hop, client and server sides', async () => {
    // item ending in 1: the full chain succeeds (frontend -> catalog, orders -> inventory, payments).
    const full = requests.filter((r) => r.traceId && r.route === '/checkout' && r.status === 200).slice(0, 10);
    assert.ok(full.length >= 5, 'enough successful checkouts with traceparent');
    const propagated = expectations.edges.filter((e) => e.client !== 'inventory');
    for (const r of full) {
      const { body } = await getJson<{ data: JaegerTrace[] }>(`${agent.url}/api/traces/${r.traceId}`);
      const trace = body.data[0];
      assert.ok(trace);
      const sides = new Set(
        trace.spans.map((s) => `${trace.processes[s.processID]?.serviceName}:${String(tag(s, 'span.kind'))}:${s.operationName.split(' ')[0]}`),
      );
      for (const e of propagated) {
        assert.ok([...sides].some((x) => x.startsWith(`${e.client}:client:`)), `${e.client} client side in ${r.traceId}: ${[...sides].join(' ')}`);
        assert.ok([...sides].some((x) => x.startsWith(`${e.server}:server:`)), `${e.server} server side in ${r.traceId}: ${[...sides].join(' ')}`);
      }
      for (const s of trace.spans) {
        assert.equal(s.traceID, r.traceId);
        assert.ok(s.duration >= 0 && s.startTime > 1.6e15, 'microsecond units');
      }
    }
  });

  test('the gRPC, TLS and database hops carry what their protocol says', async () => {
    const full = requests.filter((r) => r.traceId && r.route === '/checkout' && r.status === 200).slice(0, 5);
    assert.ok(full.length >= 5);
    for (const r of full) {
      const { body } = await getJson<{ data: JaegerTrace[] }>(`${agent.url}/api/traces/${r.traceId}`);
      const trace = body.data[0]!;
      const find = (service: string, kind: string, name: string): JaegerSpan => {
        const s = trace.spans.find((x) => trace.processes[x.processID]?.serviceName === service && tag(x, 'span.kind') === kind && x.operationName.startsWith(name));
        assert.ok(s, `${service} ${kind} span ${name} in ${r.traceId}`);
        return s;
      };
      // gRPC over h2c: method from the :path, status from the trailers (the loadgen's items all get OK).
      for (const kind of ['client', 'server']) {
        const s = find(kind === 'client' ? 'frontend' : 'shipping', kind, 'wiretrace.demo.Shipping/Quote');
        assert.equal(tag(s, 'rpc.system'), 'grpc');
        assert.equal(tag(s, 'rpc.method'), 'Quote');
        assert.equal(tag(s, 'rpc.grpc.status_code'), 0);
      }
      // HTTPS from Python to Python: plaintext from the OpenSSL uprobes.
      for (const [service, kind] of [['orders', 'client'], ['rates', 'server']] as const) {
        const s = find(service, kind, 'GET /rates');
        assert.equal(tag(s, 'wiretrace.capture_source'), 'tls');
        assert.equal(tag(s, 'url.scheme'), 'https');
        assert.equal(tag(s, 'http.response.status_code'), 200);
      }
      if (!expectations.databases) continue;
      for (const [service, kind] of [['orders', 'client'], ['postgres', 'server']] as const) {
        const s = find(service, kind, 'INSERT');
        assert.equal(tag(s, 'db.system.name'), 'postgresql');
        assert.match(String(tag(s, 'db.query.text')), /^INSERT INTO orders \(item, status\) VALUES \(\$1, \$2\)/);
      }
      for (const [service, kind] of [['inventory', 'client'], ['redis-server', 'server']] as const) {
        const s = find(service, kind, 'HINCRBY');
        assert.equal(tag(s, 'db.system.name'), 'redis');
      }
    }
  });

  test('/api/dependencies counts every demo edge within 1% of the ground truth', async () => {
    // Includes the gRPC, TLS and (when they ran) datastore edges: one span per
    // call there too (psycopg is set never to prepare, so one INSERT per order).
    const endTs = Date.now();
    const { body } = await getJson<{ data: Array<{ parent: string; child: string; callCount: number }> }>(
      `${agent.url}/api/dependencies?endTs=${endTs}&lookback=${(LOAD_SECONDS + 120) * 1000}`,
    );
    const report: string[] = [];
    for (const e of expectations.edges) {
      const got = body.data.find((d) => d.parent === e.client && d.child === e.server);
      assert.ok(got, `edge ${e.client}->${e.server} missing from ${JSON.stringify(body.data)}`);
      const error = Math.abs(got.callCount - e.calls) / e.calls;
      report.push(`${e.client}->${e.server} ${got.callCount}/${e.calls}`);
      assert.ok(error <= 0.01, `edge ${e.client}->${e.server}: ${got.callCount} captured vs ${e.calls} sent (${(error * 100).toFixed(2)}%)`);
    }
    console.log(`# dependencies (captured/sent): ${report.join(', ')}`);
  });

  test('/api/v1/dependencies labels each demo edge with the protocol its calls used', async () => {
    // What each demo server speaks (demo/README.md): the map's edge labels come from this.
    const expected = (server: string): string =>
      ({ shipping: 'grpc', postgres: 'postgresql', 'redis-server': 'redis' })[server] ?? 'http/1.1';
    const endUs = Date.now() * 1000;
    const { body } = await getJson<{ dependencies: Array<{ parent: string; child: string; protocol?: string }> }>(
      `${agent.url}/api/v1/dependencies?start=${endUs - (LOAD_SECONDS + 120) * 1_000_000}&end=${endUs}`,
    );
    for (const e of expectations.edges) {
      const got = body.dependencies.find((d) => d.parent === e.client && d.child === e.server);
      assert.equal(got?.protocol, expected(e.server), `${e.client}->${e.server}`);
    }
  });

  test('health and metrics report capture running with kernel counters', async () => {
    const { body } = await getJson<{ capture: { state: string; kernel: Record<string, number> }; pipeline: { exchanges: number }; store: { spanCount: number } }>(
      `${agent.url}/api/health`,
    );
    assert.equal(body.capture.state, 'running');
    assert.ok(Object.keys(body.capture.kernel).length > 0, 'kernel counters arrive');
    assert.ok(body.pipeline.exchanges > 0);
    assert.ok(body.store.spanCount > 0);
    const metrics = await (await fetch(`${agent.url}/metrics`)).text();
    assert.match(metrics, /^wiretrace_capture_up 1$/m);
    assert.match(metrics, /wiretrace_capture_kernel_events_total\{counter="[a-z_]+"\} \d+/);
  });
});
