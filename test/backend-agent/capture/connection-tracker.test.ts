import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionTracker } from '../../../backend-agent/src/capture/connection-tracker.js';
import { http1Detector } from '../../../backend-agent/src/protocols/http1/session.js';
import type { ConnEvent, SocketTuple } from '../../../backend-agent/src/model/events.js';

function conn(connId: bigint, kind: 'open' | 'close', port: number, tsNs: bigint): ConnEvent {
  const socket: SocketTuple = { family: 'ipv4', local: { address: '127.0.0.1', port }, remote: { address: '127.0.0.1', port: 80 } };
  return { type: 'conn', kind, tsNs, connId, cgroupId: 0n, pid: 7, tid: 7, fd: 3, role: 'client', syscall: 'connect', socket, bytesSent: 0n, bytesRecv: 0n, comm: 'c' };
}

test('the socket index forgets connections retired for idleness, and a restart clears it', () => {
  const t = new ConnectionTracker([http1Detector]);
  for (let i = 0; i < 100; i++) t.onConn(conn(BigInt(i), 'open', 40000 + i, 1n));
  assert.equal(t.sockets.size, 100);
  t.tick(1_000_000_000_000n); // far past the idle limit: their closes were lost
  assert.equal(t.openConnections, 0);
  assert.equal(t.sockets.size, 0, 'no stale owners left to misname peers');
  for (let i = 0; i < 10; i++) t.onConn(conn(BigInt(i), 'open', 41000 + i, 2n));
  t.reset(3n);
  assert.equal(t.openConnections, 0);
  assert.equal(t.sockets.size, 0);
  const peer: SocketTuple = { family: 'ipv4', local: { address: '127.0.0.1', port: 80 }, remote: { address: '127.0.0.1', port: 41000 } };
  assert.equal(t.sockets.peerOf(peer), undefined, 'closed-but-lingering sockets are cleared too');
});

test('a closed connection stays findable as a peer for late spans, then expires', () => {
  const t = new ConnectionTracker([http1Detector]);
  t.onConn(conn(1n, 'open', 42000, 1n));
  t.onConn(conn(1n, 'close', 42000, 2n));
  const peer: SocketTuple = { family: 'ipv4', local: { address: '127.0.0.1', port: 80 }, remote: { address: '127.0.0.1', port: 42000 } };
  assert.equal(t.sockets.peerOf(peer)?.pid, 7);
  t.tick(60_000_000_000n);
  assert.equal(t.sockets.peerOf(peer), undefined);
});
