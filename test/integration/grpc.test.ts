/**
 * HTTP/2 and gRPC end to end: the real loader captures real peers on
 * loopback (node's http2 over h2c, @grpc/grpc-js over an insecure channel,
 * each side a separate process named by OTEL_SERVICE_NAME), and the spans
 * the agent serves are checked against what the clients say they did.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ebpfUnavailable, getJson, requireBuilt, runPeerClient, startAgent, startPeerServer, stop, type AgentHandle, type GrpcCallResult, type H2CallResult, type RunningProcess,
} from './helpers.js';
import { clientAndServer, tag } from './jaeger-json.js';

const skipReason = ebpfUnavailable();
/** Ports base..base+5 are the HTTP/2 tests' (this file: +0, +1, +4; http2-tls.test.ts: +2, +3, +5). */
const PORT_BASE = Number(process.env.WIRETRACE_H2_IT_PORT_BASE ?? 19150);
const GRPC_PORT = PORT_BASE;
const H2C_PORT = PORT_BASE + 1;
const API_PORT = PORT_BASE + 4;

describe('HTTP/2 and gRPC (eBPF, real peers on loopback)', { skip: skipReason }, () => {
  let agent: AgentHandle;
  const servers: RunningProcess[] = [];

  before(async () => {
    requireBuilt();
    agent = await startAgent(['--port', String(GRPC_PORT), '--port', String(H2C_PORT)], API_PORT);
    servers.push(await startPeerServer('grpc-server', GRPC_PORT, 'greeter-server'));
    servers.push(await startPeerServer('h2-server', H2C_PORT, 'h2-server'));
  });

  after(async () => {
    for (const s of servers) await stop(s);
    if (agent) {
      const code = await stop(agent.proc);
      assert.equal(code, 0, `agent did not shut down cleanly: ${agent.proc.stderr().slice(-2000)}`);
    }
  });

  test('gRPC unary calls: method, service, status (OK and NOT_FOUND), both sides joined by traceparent metadata', async () => {
    const calls = await runPeerClient<GrpcCallResult[]>('grpc-client', GRPC_PORT, 'greeter-client');
    assert.deepEqual(calls.map((c) => [c.method, c.code]), [['SayHello', 0], ['SayHello', 0], ['Fail', 5], ['SayHello', 0]]);
    for (const call of calls) {
      const { c, s } = await clientAndServer(agent, call.traceId, 'greeter-client', 'greeter-server');
      for (const span of [c, s]) {
        assert.equal(span.operationName, `wiretrace.test.Greeter/${call.method}`);
        assert.equal(tag(span, 'rpc.system'), 'grpc');
        assert.equal(tag(span, 'rpc.service'), 'wiretrace.test.Greeter');
        assert.equal(tag(span, 'rpc.method'), call.method);
        assert.equal(tag(span, 'rpc.grpc.status_code'), call.code);
        assert.equal(tag(span, 'http.request.method'), 'POST');
        assert.equal(tag(span, 'url.path'), `/wiretrace.test.Greeter/${call.method}`);
        assert.equal(tag(span, 'network.protocol.version'), '2');
        assert.equal(tag(span, 'http.response.status_code'), 200);
        assert.equal(typeof tag(span, 'network.stream.id'), 'number');
      }
      assert.equal(c.spanID, call.spanId, 'the client span is the call the traceparent announced');
      assert.deepEqual(s.references.map((r) => r.spanID), [call.spanId], 'the server span is its child');
      if (call.code === 0) {
        assert.equal(tag(c, 'error'), undefined);
        assert.equal(tag(s, 'error'), undefined);
      } else {
        // NOT_FOUND is an error for the client; for the server it is not (OpenTelemetry gRPC conventions).
        assert.equal(tag(c, 'error'), true);
        assert.equal(tag(c, 'otel.status_description'), 'NOT_FOUND: no greeting for "ghost" (ünïcode ok)');
        assert.equal(tag(s, 'error'), undefined);
      }
    }
  });

  test('node http2 over h2c: interleaved streams on one connection, methods, paths, statuses, sizes', async () => {
    const calls = await runPeerClient<H2CallResult[]>('h2-client', H2C_PORT, 'h2-client');
    assert.deepEqual(calls.map((c) => c.status), [200, 200, 404]);
    const streamIds = new Set<number>();
    for (const call of calls) {
      const { c, s } = await clientAndServer(agent, call.traceId, 'h2-client', 'h2-server');
      const path = call.path.split('?')[0];
      for (const span of [c, s]) {
        assert.equal(tag(span, 'http.request.method'), call.method);
        assert.equal(tag(span, 'url.path'), path);
        assert.equal(tag(span, 'http.response.status_code'), call.status);
        assert.equal(tag(span, 'network.protocol.version'), '2');
        assert.equal(tag(span, 'http.request.body.size'), call.bodyBytes);
        assert.equal(tag(span, 'rpc.system'), undefined, 'plain HTTP/2 is not gRPC');
        assert.equal(tag(span, 'user_agent.original'), 'wiretrace-h2-test');
        assert.equal(tag(span, 'server.address'), '127.0.0.1', 'from :authority');
      }
      assert.equal(c.operationName, `${call.method} ${path}`);
      assert.equal(c.spanID, call.spanId);
      assert.deepEqual(s.references.map((r) => r.spanID), [call.spanId]);
      if (call.method === 'POST') assert.equal(tag(c, 'http.response.body.size'), call.bodyBytes, 'echoed body');
      if (call.status === 404) assert.equal(tag(c, 'error'), true, '404 is a client error');
      streamIds.add(tag(c, 'network.stream.id') as number);
    }
    assert.deepEqual([...streamIds].sort(), [1, 3, 5], 'three streams of one connection');
  });

  test('gRPC after a 64 KiB message on the same channel (cut by the 4 KiB capture): later calls keep method, status and trace context', async () => {
    const calls = await runPeerClient<GrpcCallResult[]>('grpc-client-large', GRPC_PORT, 'greeter-large-client');
    assert.deepEqual(calls.map((c) => [c.method, c.code]), [['SayHello', 0], ['SayHello', 0], ['SayHello', 0], ['Fail', 5], ['SayHello', 0]]);
    for (const call of calls.slice(1)) {
      const { c, s } = await clientAndServer(agent, call.traceId, 'greeter-large-client', 'greeter-server');
      for (const span of [c, s]) {
        assert.equal(span.operationName, `wiretrace.test.Greeter/${call.method}`);
        assert.equal(tag(span, 'rpc.system'), 'grpc');
        assert.equal(tag(span, 'rpc.method'), call.method);
        assert.equal(tag(span, 'rpc.grpc.status_code'), call.code);
      }
      assert.equal(c.spanID, call.spanId, 'traceparent decoded on the client side');
      assert.deepEqual(s.references.map((r) => r.spanID), [call.spanId], 'and on the server side');
    }
  });

  test('health counts HTTP/2 exchanges with no parse errors', async () => {
    const { body } = await getJson<{ pipeline: { parseErrors: Record<string, number>; exchanges: number } }>(`${agent.url}/api/health`);
    assert.ok(body.pipeline.exchanges >= 14, `exchanges ${body.pipeline.exchanges}`);
    assert.equal(body.pipeline.parseErrors.http2 ?? 0, 0);
  });
});
