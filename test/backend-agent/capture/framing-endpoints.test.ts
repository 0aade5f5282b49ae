import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, encode } from '../../../backend-agent/src/capture/framing.js';
import type { DataEvent } from '../../../backend-agent/src/model/events.js';

// The decoder reuses a connection's socket tuple and comm between DATA records
// when their bytes are the same (framing.ts, EndpointCache): these tests check
// that the reuse never hands out stale values.

const base: Omit<DataEvent, 'type'> = {
  tsEnterNs: 1_000n,
  tsExitNs: 2_000n,
  connId: 7n,
  cgroupId: 1n,
  streamPos: 0n,
  bytes: 4,
  pid: 100,
  tid: 100,
  fd: 5,
  direction: 'egress',
  role: 'client',
  syscall: 'write',
  truncated: false,
  socket: { family: 'ipv4', local: { address: '10.0.0.1', port: 40000 }, remote: { address: '10.0.0.2', port: 80 } },
  comm: 'curl',
  payload: Buffer.from('ping'),
};

function decodeAll(events: Array<Omit<DataEvent, 'type'>>): DataEvent[] {
  const dec = new FrameDecoder();
  const out = dec.push(Buffer.concat([encode.preamble(), ...events.map((e) => encode.data(e))]));
  return out as DataEvent[];
}

test('records of one connection with the same endpoint bytes share the decoded tuple', () => {
  const [a, b] = decodeAll([base, { ...base, streamPos: 4n, direction: 'ingress' }]);
  assert.deepEqual(a!.socket, base.socket);
  assert.equal(a!.comm, 'curl');
  assert.equal(b!.socket, a!.socket, 'same object: nothing formatted twice');
  assert.equal(b!.direction, 'ingress', 'the per-record fields are still per record');
  assert.equal(b!.streamPos, 4n);
});

test('a changed socket or comm under the same connection id is decoded afresh', () => {
  const moved = { ...base.socket, remote: { address: '10.0.0.3', port: 8080 } };
  const [a, b, c, d] = decodeAll([base, { ...base, socket: moved }, { ...base, socket: moved, comm: 'wget' }, base]);
  assert.deepEqual(a!.socket.remote, { address: '10.0.0.2', port: 80 });
  assert.deepEqual(b!.socket.remote, { address: '10.0.0.3', port: 8080 });
  assert.equal(b!.comm, 'curl');
  assert.equal(c!.comm, 'wget');
  assert.deepEqual(d!.socket, base.socket);
  assert.equal(d!.comm, 'curl');
});

test('connections do not share entries, IPv6 included', () => {
  const v6 = { family: 'ipv6' as const, local: { address: '::1', port: 1 }, remote: { address: 'fe80::1', port: 443 } };
  const [a, b, c] = decodeAll([base, { ...base, connId: 8n, socket: v6, comm: 'node' }, { ...base, streamPos: 4n }]);
  assert.deepEqual(a!.socket, base.socket);
  assert.deepEqual(b!.socket, v6);
  assert.equal(b!.comm, 'node');
  assert.equal(c!.socket, a!.socket);
});

test('more connections than the cache holds still decode correctly', () => {
  const events = Array.from({ length: 10_000 }, (_, i) => ({
    ...base,
    connId: BigInt(i + 1),
    socket: { ...base.socket, local: { address: '10.0.0.1', port: 1024 + (i % 60_000) } },
  }));
  const decoded = decodeAll([...events, ...events]);
  assert.equal(decoded.length, 20_000);
  decoded.forEach((ev, i) => assert.equal(ev.socket.local.port, 1024 + (i % 10_000)));
});
