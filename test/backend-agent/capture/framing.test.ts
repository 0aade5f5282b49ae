import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder, FramingError, encode, formatAddress } from '../../../backend-agent/src/capture/framing.js';
import type { CaptureEvent, DataEvent } from '../../../backend-agent/src/model/events.js';

const socket = {
  family: 'ipv4' as const,
  local: { address: '127.0.0.1', port: 43210 },
  remote: { address: '127.0.0.1', port: 8080 },
};

const data: Omit<DataEvent, 'type'> = {
  tsEnterNs: 1_000n,
  tsExitNs: 2_500n,
  connId: 7n,
  cgroupId: 99n,
  streamPos: 0n,
  bytes: 18,
  pid: 4242,
  tid: 4243,
  fd: 12,
  direction: 'egress',
  role: 'client',
  syscall: 'writev',
  truncated: false,
  socket,
  comm: 'curl',
  payload: Buffer.from('GET / HTTP/1.1\r\n\r\n'),
};

function stream(): Buffer {
  return Buffer.concat([
    encode.preamble(),
    encode.hello({ realtimeOffsetNs: 1_700_000_000_000_000_000n, loaderPid: 10, maxPayload: 4096, ncpus: 2, kernelRelease: '6.18.0' }),
    encode.conn({ ...data, tsNs: 900n, kind: 'open', syscall: 'connect', bytesSent: 0n, bytesRecv: 0n }),
    encode.data(data),
    encode.stats(3_000n, { drop_ringbuf_data: 3, events_data: 1 }),
  ]);
}

test('decodes every record type with the documented fields', () => {
  const events = new FrameDecoder().push(stream());
  assert.deepEqual(events.map((e) => e.type), ['hello', 'conn', 'data', 'stats']);
  const [hello, conn, dataEvent, stats] = events as [CaptureEvent, CaptureEvent, CaptureEvent, CaptureEvent];
  assert.equal(hello.type === 'hello' && hello.realtimeOffsetNs, 1_700_000_000_000_000_000n);
  assert.equal(hello.type === 'hello' && hello.kernelRelease, '6.18.0');
  assert.ok(conn.type === 'conn');
  assert.equal(conn.kind, 'open');
  assert.equal(conn.role, 'client');
  assert.equal(conn.syscall, 'connect');
  assert.deepEqual(conn.socket, socket);
  assert.ok(dataEvent.type === 'data');
  assert.equal(dataEvent.payload.toString(), 'GET / HTTP/1.1\r\n\r\n');
  assert.equal(dataEvent.bytes, 18);
  assert.equal(dataEvent.syscall, 'writev');
  assert.equal(dataEvent.direction, 'egress');
  assert.equal(dataEvent.comm, 'curl');
  assert.equal(dataEvent.tsExitNs, 2_500n);
  assert.ok(stats.type === 'stats');
  assert.deepEqual(stats.counters, { drop_ringbuf_data: 3, events_data: 1 });
});

test('byte-at-a-time feeding yields the same events as one chunk', () => {
  const whole = new FrameDecoder().push(stream());
  const decoder = new FrameDecoder();
  const bytes = stream();
  const pieces: CaptureEvent[] = [];
  for (let i = 0; i < bytes.length; i++) pieces.push(...decoder.push(bytes.subarray(i, i + 1)));
  assert.deepEqual(pieces, whole);
  assert.equal(decoder.pendingBytes, 0);
});

test('unknown record types are skipped by length, not fatal', () => {
  const decoder = new FrameDecoder();
  const events = decoder.push(Buffer.concat([encode.preamble(), encode.record(77, Buffer.alloc(20, 1)), encode.data(data)]));
  assert.deepEqual(events.map((e) => e.type), ['data']);
  assert.equal(decoder.unknownRecords, 1);
});

test('a foreign stream, a newer version or a corrupt length is a clear FramingError', () => {
  assert.throws(() => new FrameDecoder().push(Buffer.from('HTTP/1.1 200 OK\r\n')), /not a wiretrace loader stream/);
  assert.throws(() => new FrameDecoder().push(encode.preamble(3)), /framing version 3/);
  const bad = Buffer.concat([encode.preamble(), Buffer.from([3, 0, 0, 0, 3, 0, 0, 0])]);
  const decoder = new FrameDecoder();
  assert.throws(() => decoder.push(bad), FramingError);
  assert.throws(() => decoder.push(Buffer.alloc(1)), FramingError, 'stays failed');
});

test('a DATA record whose payload length lies is rejected', () => {
  const rec = encode.data(data);
  rec.writeUInt32LE(5000, 8 + 64);
  assert.throws(() => new FrameDecoder().push(Buffer.concat([encode.preamble(), rec])), /claims 5000 payload bytes/);
});

test('IPv6 addresses are formatted per RFC 5952 and round-trip', () => {
  const v6 = { family: 'ipv6' as const, local: { address: '::1', port: 1 }, remote: { address: '2001:db8::2:1', port: 2 } };
  const [e] = new FrameDecoder().push(Buffer.concat([encode.preamble(), encode.data({ ...data, socket: v6 })]));
  assert.ok(e && e.type === 'data');
  assert.deepEqual(e.socket, v6);
  const b = Buffer.alloc(16);
  b.writeUInt16BE(0xfe80, 0);
  b.writeUInt16BE(1, 14);
  assert.equal(formatAddress(b, 0, 'ipv6'), 'fe80::1');
});

test('DATA fields round-trip at their extremes, records straddling chunks included', () => {
  const variants: Array<Omit<DataEvent, 'type'>> = [
    { ...data, bytes: 0, payload: Buffer.alloc(0) },
    { ...data, bytes: 2 ** 40 + 7, truncated: true },
    { ...data, bytes: 2 ** 53 - 1, truncated: true },
    { ...data, bytes: -1 },
    { ...data, tsEnterNs: 2n ** 64n - 1n, tsExitNs: 2n ** 63n, connId: 2n ** 64n - 2n, cgroupId: 0n, streamPos: 2n ** 62n + 3n, pid: 2 ** 32 - 1, tid: 0, fd: -1 },
    { ...data, direction: 'ingress', role: 'server', syscall: 'recvmsg', captureSource: 'tls' },
    { ...data, socket: { family: 'ipv6', local: { address: '2001:db8::1', port: 1 }, remote: { address: '::ffff:a00:1', port: 65535 } } },
  ];
  const bytes = Buffer.concat([encode.preamble(), ...variants.map((v) => encode.data(v))]);
  const expected = variants.map((v) => ({ type: 'data', ...v }));
  // Whole, then cut at every 37 bytes (records straddle chunks and the decoder joins them).
  for (const size of [bytes.length, 37]) {
    const dec = new FrameDecoder();
    const got: CaptureEvent[] = [];
    for (let at = 0; at < bytes.length; at += size) got.push(...dec.push(bytes.subarray(at, at + size)));
    assert.equal(got.length, variants.length);
    got.forEach((ev, i) => {
      assert.ok(ev.type === 'data');
      assert.deepEqual({ ...ev, payload: ev.payload.toString('hex') }, { ...expected[i], payload: expected[i]!.payload.toString('hex') }, `record ${i}, chunks of ${size}`);
    });
  }
});
