/**
 * TLS end to end: the real agent with eBPF capture (OpenSSL uprobes on), real
 * TLS peers on loopback, and what its Jaeger-compatible API serves checked
 * against what the clients did: curl (system libssl) to a Python `ssl`
 * server, and node's `https` (OpenSSL inside /usr/bin/node) as client and as
 * server. A statically linked, stripped OpenSSL client must be listed in
 * /api/health as a process whose TLS is not observed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { ebpfUnavailable, getJson, requireBuilt, startAgent, stop, tempDir, waitFor, type AgentHandle } from './helpers.js';
import { tag, type JaegerSpan, type JaegerTrace } from './jaeger-json.js';
import {
  NODE_TLS_CLIENT,
  NODE_TLS_SERVER,
  PY_TLS_SERVER,
  buildStaticTlsClient,
  makeCert,
  runClient,
  startPeer,
  tlsToolsMissing,
  type Cert,
  type LineProcess,
} from '../bpf/tls-fixtures.js';

interface TlsHealthBody {
  capture: {
    state: string;
    kernel: Record<string, number>;
    tls?: {
      enabled: boolean;
      probedFiles: Array<{ path: string; probes: number }>;
      unobservedProcesses: Array<{ pid: number; comm: string; executable: string; stack: string; reason: string }>;
    };
  };
}

const skipReason = ebpfUnavailable() ?? tlsToolsMissing();
const PORT_BASE = Number(process.env.WIRETRACE_TLS_IT_PORT_BASE ?? 19020);
const PY_PORT = PORT_BASE;
const NODE_PORT = PORT_BASE + 1;

// One trace per client call, with the caller's span id in the header.
const CURL_TRACE = '5a1e0b3c9d2f4e6a8b7c6d5e4f3a2b1c';
const CURL_PARENT = '1111111111111111';
const CURL_404_TRACE = '6b2f1c4dae304f7b9c8d7e6f5a4b3c2d';
const NODE_TRACE = '7c3a2d5ebf41508cad9e8f7a6b5c4d3e';
const CURL_TO_NODE_TRACE = '8d4b3e6fc05261a9bea0f9a8b7c6d5e4';

/** The client and server spans of one call, once the agent has stored both. */
async function callSpans(agentUrl: string, traceId: string, clientService: string, serverService: string, path: string): Promise<{ client: JaegerSpan; server: JaegerSpan }> {
  let seen = 'no trace';
  try {
    return await waitFor(`client ${clientService} and server ${serverService} spans of ${path} in trace ${traceId}`, async () => {
      const { status, body } = await getJson<{ data: JaegerTrace[] }>(`${agentUrl}/api/traces/${traceId}`);
      if (status !== 200) return undefined;
      const trace = body.data[0];
      if (!trace) return undefined;
      const service = (s: JaegerSpan): string => trace.processes[s.processID]?.serviceName ?? '?';
      seen = trace.spans.map((s) => `${service(s)}:${String(tag(s, 'span.kind'))}:${String(tag(s, 'url.path'))}`).join(' ');
      const client = trace.spans.find((s) => service(s) === clientService && tag(s, 'span.kind') === 'client' && tag(s, 'url.path') === path);
      const server = trace.spans.find((s) => service(s) === serverService && tag(s, 'span.kind') === 'server' && tag(s, 'url.path') === path);
      return client && server ? { client, server } : undefined;
    }, 20_000);
  } catch (err) {
    const { body } = await getJson<TlsHealthBody>(`${agentUrl}/api/health`);
    const counters = Object.entries(body.capture.kernel).filter(([k]) => k.startsWith('tls_'));
    throw new Error(`${err instanceof Error ? err.message : String(err)}; spans seen: ${seen}; kernel: ${JSON.stringify(Object.fromEntries(counters))}`);
  }
}

function assertTlsHttp(span: JaegerSpan, path: string, status: number, traceId: string): void {
  assert.equal(span.traceID, traceId);
  assert.equal(tag(span, 'http.request.method'), 'GET');
  assert.equal(tag(span, 'url.path'), path);
  assert.equal(tag(span, 'http.response.status_code'), status);
  assert.equal(tag(span, 'wiretrace.capture_source'), 'tls');
  assert.equal(tag(span, 'url.scheme'), 'https');
  assert.equal(tag(span, 'wiretrace.trace_id_source'), 'w3c');
}

describe('TLS capture to query (eBPF, OpenSSL uprobes, real peers)', { skip: skipReason }, () => {
  let agent: AgentHandle;
  let cert: Cert;
  let dir: string;
  let py: LineProcess;
  let nodeSrv: LineProcess;
  let staticClient: ChildProcess | undefined;

  before(async () => {
    requireBuilt();
    dir = tempDir('wiretrace-tls-it-');
    cert = makeCert(dir);
    agent = await startAgent(['--port', String(PY_PORT), '--port', String(NODE_PORT)]);
    py = await startPeer('python3', ['-c', PY_TLS_SERVER, cert.cert, cert.key, String(PY_PORT)], { OTEL_SERVICE_NAME: 'tls-python' });
    nodeSrv = await startPeer('node', ['--input-type=module', '-e', NODE_TLS_SERVER, cert.cert, cert.key, String(NODE_PORT)], { OTEL_SERVICE_NAME: 'tls-node-server' });
    // node's own binary gets its probes from the exec scan (or already had them): wait for health to say so.
    const nodeBin = realpathSync(process.execPath);
    await waitFor('probes on the node binary', async () => {
      const { body } = await getJson<TlsHealthBody>(`${agent.url}/api/health`);
      return body.capture.tls?.probedFiles.some((f) => f.path === nodeBin) ? true : undefined;
    });
  });

  after(async () => {
    staticClient?.kill('SIGKILL');
    py?.proc.kill('SIGTERM');
    nodeSrv?.proc.kill('SIGTERM');
    if (agent) {
      const code = await stop(agent.proc);
      assert.equal(code, 0, `agent did not shut down cleanly: ${agent.proc.stderr().slice(-2000)}`);
    }
  });

  test('curl (OpenSSL) to a Python ssl server: client and server spans from decrypted HTTP, joined by traceparent', async (t) => {
    const base = `https://127.0.0.1:${PY_PORT}`;
    // curl is named from its command line or comm ('curl' either way): it may exit before
    // the agent reads its /proc environment, so an OTEL_SERVICE_NAME would be a race.
    const ok = await runClient('curl', ['-s', '-f', '--max-time', '10', '--cacert', cert.cert, '-H', `traceparent: 00-${CURL_TRACE}-${CURL_PARENT}-01`, `${base}/tls/hello?x=1`]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, 'tls-hello /tls/hello?x=1\n');
    const missing = await runClient('curl', ['-s', '--max-time', '10', '--cacert', cert.cert, '-H', `traceparent: 00-${CURL_404_TRACE}-${CURL_PARENT}-01`, `${base}/missing`]);
    assert.equal(missing.code, 0, missing.stderr);

    const a = await callSpans(agent.url, CURL_TRACE, 'curl', 'tls-python', '/tls/hello');
    assertTlsHttp(a.client, '/tls/hello', 200, CURL_TRACE);
    assertTlsHttp(a.server, '/tls/hello', 200, CURL_TRACE);
    assert.equal(tag(a.client, 'network.peer.port'), PY_PORT);
    assert.equal(tag(a.server, 'network.local.port'), PY_PORT);
    assert.equal(tag(a.client, 'network.local.port'), tag(a.server, 'network.peer.port'), 'one connection seen from both ends');
    assert.equal(tag(a.client, 'peer.service'), 'tls-python');
    assert.equal(tag(a.server, 'peer.service'), 'curl');
    // traceparent's parent-id names the call curl made: that is the client span.
    assert.equal(a.client.spanID, CURL_PARENT);
    assert.deepEqual(a.server.references.map((r) => r.spanID), [a.client.spanID], 'the server span is the child of the client span');

    const b = await callSpans(agent.url, CURL_404_TRACE, 'curl', 'tls-python', '/missing');
    assertTlsHttp(b.client, '/missing', 404, CURL_404_TRACE);
    assertTlsHttp(b.server, '/missing', 404, CURL_404_TRACE);
    t.diagnostic(`spans asserted: 4 (2 calls x client+server), client span ${a.client.spanID} -> server span ${a.server.spanID}`);
  });

  test('node https as client (to Python) and as server (from curl)', async (t) => {
    const nc = await runClient(
      'node',
      ['--input-type=module', '-e', NODE_TLS_CLIENT, cert.cert, String(PY_PORT), NODE_TRACE, '/node/one', '/node/two'],
      { OTEL_SERVICE_NAME: 'tls-node-client' },
    );
    assert.equal(nc.code, 0, nc.stderr);
    assert.equal(nc.stdout, '200\n200\n');
    for (const [i, p] of ['/node/one', '/node/two'].entries()) {
      const s = await callSpans(agent.url, NODE_TRACE, 'tls-node-client', 'tls-python', p);
      // The client span is the call the header names (the fixture numbers them from 1).
      assert.equal(s.client.spanID, (i + 1).toString(16).padStart(16, '0'));
      assertTlsHttp(s.client, p, 200, NODE_TRACE);
      assertTlsHttp(s.server, p, 200, NODE_TRACE);
      assert.deepEqual(s.server.references.map((r) => r.spanID), [s.client.spanID]);
    }

    const c = await runClient('curl', ['-s', '-f', '--max-time', '10', '--cacert', cert.cert, '-H', `traceparent: 00-${CURL_TO_NODE_TRACE}-${CURL_PARENT}-01`, `https://127.0.0.1:${NODE_PORT}/from/curl`]);
    assert.equal(c.code, 0, c.stderr);
    const s = await callSpans(agent.url, CURL_TO_NODE_TRACE, 'curl', 'tls-node-server', '/from/curl');
    assertTlsHttp(s.client, '/from/curl', 200, CURL_TO_NODE_TRACE);
    assertTlsHttp(s.server, '/from/curl', 200, CURL_TO_NODE_TRACE);
    assert.deepEqual(s.server.references.map((r) => r.spanID), [s.client.spanID]);
    t.diagnostic('spans asserted: 6 (node client -> python x2, curl -> node server)');
  });

  test('/api/health lists the probed files and a static, stripped OpenSSL process as unobserved', async (t) => {
    const { body } = await getJson<TlsHealthBody>(`${agent.url}/api/health`);
    const tls = body.capture.tls;
    assert.ok(tls, 'health carries capture.tls');
    assert.equal(tls.enabled, true);
    assert.ok(tls.probedFiles.some((f) => /\/libssl\.so\.[0-9.]+$/.test(f.path) && f.probes === 8), JSON.stringify(tls.probedFiles));
    assert.ok(body.capture.kernel.tls_data_events! > 0);
    assert.equal(body.capture.kernel.tls_unattributed, 0);

    const built = buildStaticTlsClient(dir);
    if ('missing' in built) {
      t.skip(`cannot build the static TLS client: ${built.missing}`);
      return;
    }
    const st = await startPeer(built.path, [String(PY_PORT)]);
    staticClient = st.proc;
    const pid = st.proc.pid!;
    const listed = await waitFor('the static client in /api/health', async () => {
      const { body: h } = await getJson<TlsHealthBody>(`${agent.url}/api/health`);
      return h.capture.tls?.unobservedProcesses.find((p) => p.pid === pid);
    });
    assert.equal(listed.stack, 'static-openssl');
    assert.equal(listed.executable, built.path);
    assert.equal(listed.comm, 'static-tls-clie');
    assert.match(listed.reason, /without symbols/);
    t.diagnostic(`unobserved: ${JSON.stringify(listed)}`);
  });
});
