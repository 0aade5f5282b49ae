/**
 * HTTP/2 over TLS (ALPN h2) end to end: the TLS probes hand the agent the
 * plaintext, which starts with the same connection preface as h2c. Peers:
 * curl (Debian's, OpenSSL and nghttp2 as shared libraries) and node's http2
 * (OpenSSL linked into the node binary), against node's secure http2 server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';
import {
  ebpfUnavailable, requireBuilt, run, runPeerClient, startAgent, startPeerServer, stop, tempDir, type AgentHandle, type H2CallResult, type RunningProcess,
} from './helpers.js';
import { clientAndServer, tag } from './jaeger-json.js';

const skipReason = ebpfUnavailable();
/** Ports base..base+5 are the HTTP/2 tests' (grpc.test.ts: +0, +1, +4; this file: +2, +3, +5). */
const PORT_BASE = Number(process.env.WIRETRACE_H2_IT_PORT_BASE ?? 19150);
const CURL_PORT = PORT_BASE + 2;
const NODE_PORT = PORT_BASE + 3;
const API_PORT = PORT_BASE + 5;

describe('HTTP/2 over TLS (eBPF TLS probes, real peers on loopback)', { skip: skipReason }, () => {
  let agent: AgentHandle;
  const servers: RunningProcess[] = [];

  before(async () => {
    requireBuilt();
    const dir = tempDir('wiretrace-h2tls-');
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    agent = await startAgent(['--port', String(CURL_PORT), '--port', String(NODE_PORT)], API_PORT);
    for (const [port, name] of [[CURL_PORT, 'h2-tls-server'], [NODE_PORT, 'h2-tls-server-2']] as const) {
      servers.push(await startPeerServer('h2-server', port, name, ['--tls', key, cert]));
    }
  });

  after(async () => {
    for (const s of servers) await stop(s);
    if (agent) {
      const code = await stop(agent.proc);
      assert.equal(code, 0, `agent did not shut down cleanly: ${agent.proc.stderr().slice(-2000)}`);
    }
  });

  test('curl --http2 over TLS: both sides, decrypted, joined by traceparent', async () => {
    const traceId = crypto.randomBytes(16).toString('hex');
    const spanId = crypto.randomBytes(8).toString('hex');
    const curl = run('curl', ['-sk', '--http2', '-H', `traceparent: 00-${traceId}-${spanId}-01`, `https://127.0.0.1:${CURL_PORT}/hello?name=tls`, '-o', '/dev/null', '-w', '%{http_version} %{http_code}']);
    assert.equal(await curl.exited, 0, curl.stderr());
    assert.equal(curl.stdout(), '2 200', 'curl negotiated h2 and got 200');
    // curl may exit before the agent reads its environment, so it is named
    // from its command line or comm ('curl' either way), not OTEL_SERVICE_NAME.
    const { c, s } = await clientAndServer(agent, traceId, 'curl', 'h2-tls-server');
    for (const span of [c, s]) {
      assert.equal(span.operationName, 'GET /hello');
      assert.equal(tag(span, 'network.protocol.version'), '2');
      assert.equal(tag(span, 'url.scheme'), 'https');
      assert.equal(tag(span, 'url.query'), 'name=tls');
      assert.equal(tag(span, 'http.response.status_code'), 200);
      assert.equal(tag(span, 'wiretrace.capture_source'), 'tls');
    }
    assert.equal(c.spanID, spanId);
    assert.deepEqual(s.references.map((r) => r.spanID), [spanId]);
  });

  test('node http2 client over TLS: three interleaved streams, both sides', async () => {
    const calls = await runPeerClient<H2CallResult[]>('h2-client', NODE_PORT, 'h2-tls-client', ['--tls']);
    assert.deepEqual(calls.map((x) => x.status), [200, 200, 404]);
    for (const call of calls) {
      const { c, s } = await clientAndServer(agent, call.traceId, 'h2-tls-client', 'h2-tls-server-2');
      for (const span of [c, s]) {
        assert.equal(tag(span, 'http.request.method'), call.method);
        assert.equal(tag(span, 'url.path'), call.path.split('?')[0]);
        assert.equal(tag(span, 'http.response.status_code'), call.status);
        assert.equal(tag(span, 'http.request.body.size'), call.bodyBytes);
        assert.equal(tag(span, 'wiretrace.capture_source'), 'tls');
      }
      assert.equal(c.spanID, call.spanId);
      assert.deepEqual(s.references.map((r) => r.spanID), [call.spanId]);
    }
  });
});
