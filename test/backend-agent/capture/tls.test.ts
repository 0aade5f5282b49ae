/**
 * The agent's side of TLS capture (framing v2): decoding the TLS flag and TLS
 * records, the connection tracker switching a connection from its ciphertext
 * to the plaintext the OpenSSL probes report, and the health view of what the
 * loader's discovery found. The kernel side is tested in test/bpf/loader.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encode, FrameDecoder, FRAMING_VERSION } from '../../../backend-agent/src/capture/framing.js';
import { ConnectionTracker } from '../../../backend-agent/src/capture/connection-tracker.js';
import { TlsState } from '../../../backend-agent/src/capture/tls/tls-state.js';
import { http1Detector } from '../../../backend-agent/src/protocols/http1/session.js';
import type { CaptureEvent, DataEvent, HelloEvent, SocketTuple, TlsEvent } from '../../../backend-agent/src/model/events.js';

const socket: SocketTuple = { family: 'ipv4', local: { address: '127.0.0.1', port: 51000 }, remote: { address: '127.0.0.1', port: 443 } };

function data(over: Partial<DataEvent> & Pick<DataEvent, 'direction' | 'payload' | 'streamPos'>): DataEvent {
  return {
    type: 'data',
    tsEnterNs: 1000n,
    tsExitNs: 2000n,
    connId: 9n,
    cgroupId: 0n,
    bytes: over.payload.length,
    pid: 42,
    tid: 42,
    fd: 5,
    role: 'client',
    syscall: 'sendto',
    truncated: false,
    socket,
    comm: 'curl',
    ...over,
  };
}

const hello: Omit<HelloEvent, 'type' | 'version'> = { realtimeOffsetNs: 1n, loaderPid: 1, maxPayload: 4096, ncpus: 2, kernelRelease: 'x' };

test('framing v2: the TLS flag and TLS records round-trip; v1 streams are still read', () => {
  const plain = data({ direction: 'egress', payload: Buffer.from('GET / HTTP/1.1\r\n\r\n'), streamPos: 0n, syscall: 'SSL_write', captureSource: 'tls' });
  const cipher = data({ direction: 'egress', payload: Buffer.from([0x16, 3, 1]), streamPos: 0n });
  const rec: Omit<TlsEvent, 'type'> = { kind: 'proc-unobserved', stack: 'go', pid: 77, dev: 0xfd01n, ino: 1234n, probes: 0, error: 0, path: '/usr/local/bin/gosvc' };
  const events = new FrameDecoder().push(Buffer.concat([encode.preamble(), encode.hello(hello), encode.data(plain), encode.data(cipher), encode.tls(rec)]));
  assert.equal(FRAMING_VERSION, 2);
  assert.deepEqual(events.map((e) => e.type), ['hello', 'data', 'data', 'tls']);
  assert.equal((events[0] as HelloEvent).version, 2);
  const [, p, c, t] = events as [HelloEvent, DataEvent, DataEvent, TlsEvent];
  assert.equal(p.captureSource, 'tls');
  assert.equal(p.syscall, 'SSL_write');
  assert.equal('captureSource' in c, false, 'syscall data carries no capture source');
  assert.deepEqual(t, { type: 'tls', ...rec });

  const v1 = new FrameDecoder().push(Buffer.concat([encode.preamble(1), encode.hello(hello), encode.data(cipher)]));
  assert.equal((v1[0] as HelloEvent).version, 1);
  assert.equal(v1[1]?.type, 'data');
});

test('a TLS record of a kind this agent does not know is skipped, not fatal', () => {
  const rec = encode.tls({ kind: 'lib-attached', stack: 'openssl', pid: 1, dev: 1n, ino: 2n, probes: 8, error: 0, path: '/x' });
  rec.writeUInt8(99, 8 + 20); // kind
  const d = new FrameDecoder();
  assert.deepEqual(d.push(Buffer.concat([encode.preamble(), rec])), []);
  assert.equal(d.unknownRecords, 1);
});

test('the tracker drops the handshake ciphertext and parses the plaintext under the same connection id', () => {
  const t = new ConnectionTracker([http1Detector]);
  t.onConn({ type: 'conn', kind: 'open', tsNs: 500n, connId: 9n, cgroupId: 0n, pid: 42, tid: 42, fd: 5, role: 'client', syscall: 'connect', socket, bytesSent: 0n, bytesRecv: 0n, comm: 'curl' });
  // A whole detection budget of ciphertext: the connection is given up as 'other'...
  for (let i = 0; i < 10; i++) {
    t.onData(data({ direction: i % 2 ? 'ingress' : 'egress', payload: Buffer.from([0x16, 3, 3, 0, 0x7a, i]), streamPos: BigInt(i * 6) }));
  }
  assert.equal(t.skippedConnections, 1);
  // ...until the probes' plaintext arrives: detection starts over on it.
  const req = 'GET /secret/path HTTP/1.1\r\nHost: x\r\n\r\n';
  const resp = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
  t.onData(data({ direction: 'egress', payload: Buffer.from(req), streamPos: 0n, syscall: 'SSL_write', captureSource: 'tls', tsEnterNs: 3000n, tsExitNs: 3100n }));
  // Ciphertext arriving in between (a session ticket, say) must not disturb the plaintext stream.
  t.onData(data({ direction: 'ingress', payload: Buffer.from([0x17, 3, 3, 0, 5, 1, 2, 3, 4, 5]), streamPos: 60n }));
  t.onData(data({ direction: 'ingress', payload: Buffer.from(resp), streamPos: 0n, syscall: 'SSL_read', captureSource: 'tls', tsEnterNs: 4000n, tsExitNs: 4100n }));
  t.onConn({ type: 'conn', kind: 'close', tsNs: 5000n, connId: 9n, cgroupId: 0n, pid: 42, tid: 42, fd: 5, role: 'client', syscall: 'close', socket, bytesSent: 0n, bytesRecv: 0n, comm: 'curl' });
  const ex = t.drain();
  assert.equal(ex.length, 1);
  assert.equal(ex[0]!.connection.connId, 9n);
  assert.equal(ex[0]!.connection.captureSource, 'tls');
  assert.equal(ex[0]!.request.path, '/secret/path');
  assert.equal(ex[0]!.response?.statusCode, 200);
  assert.equal(t.skippedConnections, 0, 'a connection given up on ciphertext is not counted once its plaintext is parsed');
  assert.equal(t.gaps(), 0);
  assert.deepEqual(t.parseErrors(), { http1: 0 });
});

test('plain connections keep their capture source unset (the span builder says syscall)', () => {
  const t = new ConnectionTracker([http1Detector]);
  t.onData(data({ direction: 'egress', payload: Buffer.from('GET /a HTTP/1.1\r\nHost: x\r\n\r\n'), streamPos: 0n }));
  t.onData(data({ direction: 'ingress', payload: Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'), streamPos: 0n }));
  const ex = t.drain();
  assert.equal(ex.length, 1);
  assert.equal(ex[0]!.connection.captureSource, undefined);
});

test('TlsState: probed files, failures and unobserved processes, per loader session', () => {
  const proc = mkdtempSync(path.join(tmpdir(), 'wiretrace-proc-'));
  mkdirSync(path.join(proc, '77'));
  writeFileSync(path.join(proc, '77', 'comm'), 'gosvc\n');
  const s = new TlsState({ enabled: true, procRoot: proc });
  const tls = (e: Omit<TlsEvent, 'type' | 'probes' | 'error' | 'stack'> & Partial<TlsEvent>): TlsEvent => ({ type: 'tls', probes: 0, error: 0, stack: 'openssl', ...e });
  const ev: CaptureEvent[] = [
    { type: 'hello', version: 2, ...hello },
    tls({ kind: 'lib-attached', pid: 0, dev: 1n, ino: 10n, probes: 8, path: '/usr/lib/x86_64-linux-gnu/libssl.so.3' }),
    tls({ kind: 'lib-attached', pid: 5, dev: 1n, ino: 11n, probes: 8, path: '/usr/bin/node' }),
    tls({ kind: 'lib-failed', pid: 6, dev: 1n, ino: 12n, error: 1, path: '/opt/app/libssl.so.1.1' }),
    tls({ kind: 'proc-unobserved', pid: 77, dev: 1n, ino: 13n, stack: 'go', path: '/usr/local/bin/gosvc' }),
    tls({ kind: 'proc-unobserved', pid: 78, dev: 1n, ino: 14n, stack: 'static-openssl', path: '/opt/x' }),
    tls({ kind: 'lib-detached', pid: 0, dev: 1n, ino: 11n, path: '/usr/bin/node' }),
    tls({ kind: 'proc-gone', pid: 78, dev: 0n, ino: 0n, path: '' }),
  ];
  s.observe(ev);
  const h = s.health();
  assert.equal(h.enabled, true);
  assert.deepEqual(h.probedFiles, [{ path: '/usr/lib/x86_64-linux-gnu/libssl.so.3', probes: 8, foundInPid: 0 }]);
  assert.deepEqual(h.failedFiles, [{ path: '/opt/app/libssl.so.1.1', error: 'errno 1' }]);
  assert.equal(h.unobservedProcesses.length, 1);
  assert.deepEqual(h.unobservedProcesses[0], { pid: 77, comm: 'gosvc', executable: '/usr/local/bin/gosvc', stack: 'go', reason: 'Go crypto/tls: no OpenSSL calls to probe' });
  // A new loader re-reports everything: the old session's view is dropped.
  s.observe([{ type: 'hello', version: 2, ...hello }]);
  assert.deepEqual(s.health(), { enabled: true, probedFiles: [], failedFiles: [], unobservedProcesses: [] });
  // A loader on a pipe: enabled is what the stream shows.
  const piped = new TlsState({});
  assert.equal(piped.health().enabled, false);
  piped.observe([ev[1]!]);
  assert.equal(piped.health().enabled, true);
});

test('--tls on|off (WIRETRACE_TLS) reaches the loader as --tls off only when off', async () => {
  const { parseConfig } = await import('../../../backend-agent/src/config.js');
  const { loaderArgs } = await import('../../../backend-agent/src/capture/loader-process.js');
  const cfg = (argv: string[], env: Record<string, string> = {}): boolean => {
    const r = parseConfig(argv, env);
    assert.equal(r.kind, 'run');
    return r.kind === 'run' && r.config.tls;
  };
  assert.equal(cfg([]), true, 'on by default');
  assert.equal(cfg(['--tls', 'off']), false);
  assert.equal(cfg([], { WIRETRACE_TLS: 'off' }), false);
  assert.equal(cfg(['--tls', 'on'], { WIRETRACE_TLS: 'off' }), true, 'the flag wins');
  assert.throws(() => parseConfig(['--tls', 'maybe'], {}), /--tls must be on or off/);
  const filters = { pids: [], excludePids: [], ports: [], excludePorts: [], cgroups: [] };
  assert.deepEqual(loaderArgs(4096, filters), ['--max-payload', '4096']);
  assert.deepEqual(loaderArgs(4096, filters, false), ['--max-payload', '4096', '--tls', 'off']);
});
