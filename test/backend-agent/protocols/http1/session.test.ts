import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TrackedConnection } from '../../../../backend-agent/src/capture/connection-tracker.js';
import type { DataEvent, Direction } from '../../../../backend-agent/src/model/events.js';
import { http1Detector } from '../../../../backend-agent/src/protocols/http1/index.js';

const socket = { family: 'ipv4' as const, local: { address: '10.0.0.1', port: 40000 }, remote: { address: '10.0.0.2', port: 8080 } };

function tracked(role: 'client' | 'server'): TrackedConnection {
  return { connId: 77n, pid: 1234, comm: 'api', cgroupId: 9n, role, socket, lastSeenNs: 0n, protocol: 'http1', session: undefined, eventsBeforeDetection: 0 };
}

function event(direction: Direction, text: string, streamPos: bigint, ts: bigint, tid: number): DataEvent {
  const payload = Buffer.from(text, 'latin1');
  return {
    type: 'data', tsEnterNs: ts, tsExitNs: ts + 5n, connId: 77n, cgroupId: 9n, streamPos, bytes: payload.length,
    pid: 1234, tid, fd: 5, direction, role: 'client', syscall: 'write', truncated: false, socket, comm: 'api', payload,
  };
}

test('http1Detector recognises requests and responses by their first bytes', () => {
  assert.equal(http1Detector.name, 'http1');
  assert.equal(http1Detector.detect(Buffer.from('GET / HTTP/1.1\r\n\r\n')), 'request');
  assert.equal(http1Detector.detect(Buffer.from('HTTP/1.1 200 OK\r\n')), 'response');
  assert.equal(http1Detector.detect(Buffer.from([0x16, 0x03, 0x01])), undefined);
});

test('a session turns exchanges into ObservedExchange for the span builder', () => {
  const session = http1Detector.open(tracked('client'));
  const req = 'POST /orders?x=1 HTTP/1.1\r\nHost: shop\r\nTraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nContent-Length: 2\r\n\r\n{}';
  session.onData(event('egress', req, 0n, 100n, 1235));
  assert.deepEqual(session.drain(), []);
  const res = 'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n';
  session.onData(event('ingress', res, 0n, 200n, 1236));
  const [ex, ...rest] = session.drain();
  assert.equal(rest.length, 0);
  assert.ok(ex);
  assert.equal(ex.protocol, 'http1');
  assert.equal(ex.index, 0);
  assert.deepEqual(ex.connection, { connId: 77n, pid: 1234, comm: 'api', cgroupId: 9n, role: 'client', socket });
  assert.equal(ex.request.method, 'POST');
  assert.equal(ex.request.path, '/orders');
  assert.equal(ex.request.query, 'x=1');
  assert.equal(ex.request.version, '1.1');
  assert.equal(ex.request.headers[1]?.[0], 'traceparent');
  assert.equal(ex.request.headerBytes + ex.request.bodyBytes, req.length);
  assert.equal(ex.request.tid, 1235);
  assert.equal(ex.request.startNs, 100n);
  assert.equal(ex.request.endNs, 105n);
  assert.equal(ex.response?.statusCode, 201);
  assert.equal(ex.response?.tid, 1236);
  assert.equal(ex.response?.startNs, 205n);
  assert.equal(ex.truncated, false);
  assert.equal(ex.incompleteReason, undefined);
  assert.deepEqual(session.drain(), [], 'drained once');
});

test('a session reports requests without response at close and counts parse errors and gaps', () => {
  const session = http1Detector.open(tracked('server'));
  session.onData(event('ingress', 'GET /a HTTP/1.1\r\n\r\n', 0n, 10n, 1));
  session.onData(event('ingress', 'garbage', 1000n, 20n, 1));
  session.onClose(30n);
  const [ex] = session.drain();
  assert.equal(ex?.connection.role, 'server');
  assert.equal(ex?.response, undefined);
  assert.equal(ex?.incompleteReason, 'connection closed before a response');
  assert.equal(session.gaps, 1);
  assert.equal(session.parseErrors, 0, 'bytes skipped after a gap are its consequence, not parse errors');
});
