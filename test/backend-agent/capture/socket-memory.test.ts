/**
 * What an open connection keeps once its bytes are parsed. Payloads are views
 * of the loader's reads (framing.ts decodes without copying): a parser that
 * kept a view would keep the whole read alive for as long as the connection
 * is idle, thousands of reads for thousands of keep-alive connections.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { ConnectionTracker, DEFAULT_MAX_CONNECTIONS } from '../../../backend-agent/src/capture/connection-tracker.js';
import { http1Detector } from '../../../backend-agent/src/protocols/http1/session.js';
import type { DataEvent, Direction, Role, SocketTuple } from '../../../backend-agent/src/model/events.js';

function gcFunction(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

let clock = 1_000_000n;
const pos = new Map<string, bigint>();

function event(connId: bigint, role: Role, direction: Direction, payload: Buffer, socket: SocketTuple): DataEvent {
  const key = `${connId}/${direction}`;
  const streamPos = pos.get(key) ?? 0n;
  pos.set(key, streamPos + BigInt(payload.length));
  clock += 1000n;
  return {
    type: 'data', tsEnterNs: clock, tsExitNs: clock, connId, cgroupId: 0n, streamPos, bytes: payload.length, pid: 7, tid: 7, fd: 3,
    direction, role, syscall: direction === 'ingress' ? 'read' : 'write', truncated: false, socket, comm: 'svc', payload,
  };
}

/** `texts` laid out in one large "loader read", each returned as a view of it. */
function inOneRead(texts: string[]): { views: Buffer[]; read: WeakRef<ArrayBuffer> } {
  const read = Buffer.allocUnsafeSlow(1 << 20);
  let at = 0;
  const views = texts.map((t) => {
    const n = read.write(t, at, 'latin1');
    const v = read.subarray(at, at + n);
    at += n;
    return v;
  });
  return { views, read: new WeakRef(read.buffer) };
}

const SERVER: SocketTuple = { family: 'ipv4', local: { address: '10.0.0.1', port: 8080 }, remote: { address: '10.0.0.2', port: 40000 } };

test('idle connections keep no view of the loader reads their bytes came in', async () => {
  const gc = gcFunction();
  const t = new ConnectionTracker([http1Detector]);
  const reads: Array<WeakRef<ArrayBuffer>> = [];
  const feed = (connId: bigint, parts: Array<[Direction, string]>): void => {
    const { views, read } = inOneRead(parts.map(([, text]) => text));
    reads.push(read);
    parts.forEach(([direction], k) => t.onData(event(connId, 'server', direction, views[k] as Buffer, SERVER)));
  };
  // A whole exchange in one read.
  feed(1n, [['ingress', 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n'], ['egress', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok']]);
  // A head split across two reads, then a chunked response whose body is still open.
  feed(2n, [['ingress', 'GET /b HTTP/1.1\r\nHo']]);
  feed(2n, [['ingress', 'st: x\r\n\r\n'], ['egress', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel']]);
  // A request line cut at the end of a read (held for the next call), then more of it.
  feed(3n, [['ingress', 'GET /c HT']]);
  feed(3n, [['ingress', 'TP/1.1\r\nHost: x\r\n\r\n']]);
  const exchanges = t.drain();
  assert.deepEqual(
    exchanges.map((e) => e.request.path),
    ['/a'],
    'only the first exchange is complete',
  );
  assert.equal(t.openConnections, 3);
  await new Promise((resolve) => setImmediate(resolve)); // WeakRefs hold their target until the job ends
  gc();
  assert.deepEqual(
    reads.map((r) => r.deref() === undefined),
    reads.map(() => true),
    'every read was collected while its connections stay open',
  );
  // The connections still work after it: the held head and the open body go on.
  t.onData(event(2n, 'server', 'egress', Buffer.from('lo\r\n0\r\n\r\n'), SERVER));
  t.onData(event(3n, 'server', 'egress', Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'), SERVER));
  const later = t.drain();
  assert.deepEqual(
    later.map((e) => [e.request.path, e.response?.statusCode, e.response?.bodyBytes]),
    [
      ['/b', 200, 15],
      ['/c', 204, 0],
    ],
  );
});

test('the default cap holds 10,000 connections with both ends on this host (20,000 sockets) without evicting a live one', () => {
  assert.ok(DEFAULT_MAX_CONNECTIONS >= 20_000);
  const t = new ConnectionTracker([http1Detector]);
  const n = 10_000;
  const sockets = (i: number): { client: SocketTuple; server: SocketTuple } => {
    const client: SocketTuple = { family: 'ipv4', local: { address: '127.0.0.1', port: 20_000 + i }, remote: { address: '127.0.0.1', port: 8080 } };
    return { client, server: { family: 'ipv4', local: client.remote, remote: client.local } };
  };
  const request = Buffer.from('GET /k HTTP/1.1\r\nHost: x\r\n\r\n');
  const response = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  let exchanges = 0;
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < n; i++) {
      const { client, server } = sockets(i);
      const c = BigInt(100_000 + 2 * i);
      const s = c + 1n;
      t.onData(event(c, 'client', 'egress', request, client));
      t.onData(event(s, 'server', 'ingress', request, server));
      t.onData(event(s, 'server', 'egress', response, server));
      t.onData(event(c, 'client', 'ingress', response, client));
    }
    exchanges += t.drain().length;
  }
  assert.equal(t.evictedConnections, 0);
  assert.equal(t.openConnections, 2 * n);
  assert.equal(exchanges, 4 * n, 'both sides of every request, twice');
  const peer = t.sockets.peerOf(sockets(1234).server);
  assert.equal(peer?.connId, BigInt(100_000 + 2 * 1234), "each side still finds the other's process");
});
