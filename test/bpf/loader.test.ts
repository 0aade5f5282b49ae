/**
 * Integration test of bpf/wiretrace-loader against the real kernel: needs root
 * and BTF, and a loader built beforehand with `make -C bpf`.
 *
 * The loader never traces its parent (this test process), so every byte we
 * expect to see comes from child processes: a Python HTTP server and curl.
 */
import { test, before, after, describe } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameDecoder } from '../../backend-agent/src/capture/framing.js';
import type {
  CaptureEvent,
  ConnEvent,
  DataEvent,
  HelloEvent,
  StatsEvent,
  TlsEvent,
} from '../../backend-agent/src/model/events.js';
import {
  NODE_HTTP_TO_HTTPS_GATEWAY,
  NODE_TLS_CLIENT,
  NODE_TLS_SERVER,
  PY_MEMBIO_CLIENT_WITH_PLAIN_READS,
  PY_PLAIN_PONG_SERVER,
  PY_TLS_SERVER,
  buildStaticTlsClient,
  makeCert,
  runClient,
  startPeer,
  tlsToolsMissing,
  type Cert,
} from './tls-fixtures.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// WIRETRACE_TEST_LOADER: run the tests against another build (e.g. to show a fix's test failing before it).
const LOADER = process.env.WIRETRACE_TEST_LOADER ?? join(ROOT, 'bpf', 'wiretrace-loader');
const MAX_PAYLOAD = 4096;
const BIG_BODY = 20000;

/** Every counter the loader reports; each must be documented in bpf/README.md. */
const COUNTER_NAMES = [
  'data_events',
  'conn_open_events',
  'conn_close_events',
  'drop_ringbuf_data',
  'drop_ringbuf_conn',
  'truncated_events',
  'truncated_bytes',
  'data_bytes',
  'captured_bytes',
  'filtered_pid',
  'filtered_cgroup',
  'filtered_port',
  'conn_map_full',
  'args_map_full',
  'read_user_fail',
  'skipped_peek',
  'conn_gone_in_call',
  'conn_fd_reused',
  'conn_closed_on_exit',
  'tls_data_events',
  'tls_ciphertext_skipped',
  'tls_unattributed',
  'tls_calls_map_full',
  'exec_events',
  'loader_records',
  'loader_bytes',
  'loader_bad_samples',
  'tls_probed_files',
];

/*
 * Keep-alive HTTP/1.1 server whose paths exercise different send syscalls:
 * /sendmsg and /writev send header and body as two iovecs in one call, /big
 * sends a body larger than the payload limit, anything else goes through
 * the usual buffered sendall (send -> sendto).
 */
const SERVER_PY = String.raw`
import os, sys
from http.server import HTTPServer, BaseHTTPRequestHandler

class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a):
        pass
    def do_GET(self):
        if self.path == '/big':
            body = b'B' * ${BIG_BODY}
        else:
            body = ('body-of-' + self.path.strip('/') + '\n').encode()
        head = ('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n' % len(body)).encode()
        if self.path == '/sendmsg':
            self.connection.sendmsg([head, body])
        elif self.path == '/writev':
            os.writev(self.connection.fileno(), [head, body])
        else:
            self.wfile.write(head + body)

srv = HTTPServer(('127.0.0.1', 0), H)
print(os.getpid(), srv.server_address[1], flush=True)
srv.serve_forever()
`;

interface Loader {
  proc: ChildProcess;
  events: CaptureEvent[];
  raw: Buffer[];
  stderr: string[];
  exited: Promise<number | null>;
}

function skipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (CAP_BPF, CAP_PERFMON)';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'kernel has no BTF (/sys/kernel/btf/vmlinux)';
  return undefined;
}

function assertBuilt(): void {
  assert.ok(existsSync(LOADER), `${LOADER} is missing: build it first with \`make -C bpf\``);
}

function sleep(ms: number, unref = false): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(r, ms);
    if (unref) t.unref();
  });
}

async function startLoader(args: string[] = [], env: NodeJS.ProcessEnv = process.env): Promise<Loader> {
  const proc = spawn(LOADER, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  const decoder = new FrameDecoder();
  const l: Loader = {
    proc,
    events: [],
    raw: [],
    stderr: [],
    exited: new Promise((resolve) => proc.on('exit', (code) => resolve(code))),
  };
  proc.stdout!.on('data', (chunk: Buffer) => {
    l.raw.push(chunk);
    l.events.push(...decoder.push(chunk));
  });
  let errBuf = '';
  const ready = new Promise<void>((resolve, reject) => {
    proc.stderr!.on('data', (chunk: Buffer) => {
      errBuf += chunk.toString();
      const lines = errBuf.split('\n');
      errBuf = lines.pop() ?? '';
      for (const line of lines) {
        l.stderr.push(line);
        if (line.includes(': ready: ')) resolve();
      }
    });
    proc.on('exit', (code) => reject(new Error(`loader exited with ${code}: ${l.stderr.join(' | ')}`)));
    setTimeout(() => reject(new Error(`loader not ready after 20 s: ${l.stderr.join(' | ')}`)), 20000).unref();
  });
  await ready;
  return l;
}

/** SIGTERM, then wait for the final drain and STATS; asserts a clean exit. */
async function stopLoader(l: Loader): Promise<void> {
  l.proc.kill('SIGTERM');
  const code = await l.exited;
  assert.equal(code, 0, `loader exit code (stderr: ${l.stderr.join(' | ')})`);
}

function curl(urls: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const c = spawn('curl', ['-s', '-f', '--max-time', '10', ...urls], { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve(c.pid!) : reject(new Error(`curl exited with ${code}`))));
  });
}

function onPort(e: ConnEvent | DataEvent, port: number): boolean {
  return e.socket.local.port === port || e.socket.remote.port === port;
}

function conns(l: Loader, port: number): ConnEvent[] {
  return l.events.filter((e): e is ConnEvent => e.type === 'conn' && onPort(e, port));
}

function data(l: Loader, port: number): DataEvent[] {
  return l.events.filter((e): e is DataEvent => e.type === 'data' && onPort(e, port));
}

function lastStats(l: Loader): StatsEvent {
  const s = l.events.filter((e): e is StatsEvent => e.type === 'stats');
  assert.ok(s.length > 0, 'no STATS record in the stream');
  return s[s.length - 1]!;
}

/** Waits until the loader has streamed what `done` looks for (it flushes every ~50 ms). */
async function waitFor(done: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await sleep(50);
}

let server: ChildProcess | undefined;
let serverPid = 0;
let port = 0;

before(async () => {
  if (skipReason()) return;
  server = spawn('python3', ['-c', SERVER_PY], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    server!.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out.trim());
    });
    server!.on('exit', (code) => reject(new Error(`test server exited with ${code}`)));
  });
  [serverPid, port] = line.split(' ').map(Number) as [number, number];
});

after(() => {
  server?.kill('SIGTERM');
});

function maybeSkip(t: TestContext): boolean {
  const why = skipReason();
  if (why) t.skip(why);
  return why !== undefined;
}

test('captures both sides of keep-alive HTTP on loopback', async (t) => {
  if (maybeSkip(t)) return;
  assertBuilt();
  const l = await startLoader(['--max-payload', String(MAX_PAYLOAD), '--stats-interval-ms', '200']);
  const base = `http://127.0.0.1:${port}`;
  const paths = ['/plain', '/sendmsg', '/writev', '/big', '/last'];
  const curlPid = await curl(paths.map((p) => base + p));
  await waitFor(
    () =>
      conns(l, port).filter((c) => c.kind === 'close').length >= 2 &&
      l.events.some((e) => e.type === 'stats'),
  );
  await stopLoader(l);

  // Preamble, then HELLO first.
  const head = Buffer.concat(l.raw).subarray(0, 8);
  assert.equal(head.toString('latin1', 0, 4), 'WTRC');
  assert.equal(head.readUInt16LE(4), 2, 'framing version 2 (TLS)');
  const hello = l.events[0] as HelloEvent;
  assert.equal(hello.type, 'hello');
  assert.equal(hello.loaderPid, l.proc.pid);
  assert.equal(hello.maxPayload, MAX_PAYLOAD);
  assert.ok(hello.ncpus >= 1);
  assert.equal(hello.kernelRelease, release());
  // Event times are CLOCK_BOOTTIME, which /proc/uptime reports (to 10 ms).
  const uptimeNs = BigInt(Math.round(Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]) * 1e9));
  const nowOffset = BigInt(Date.now()) * 1000000n - uptimeNs;
  assert.ok(hello.realtimeOffsetNs > 0n);
  const skew = hello.realtimeOffsetNs - nowOffset;
  assert.ok(skew < 50_000_000n && skew > -50_000_000n, `realtime offset skew ${skew} ns`);
  // Every STATS record re-sends the offset (not a counter), so readers follow clock steps.
  const resent = lastStats(l).counters.realtime_offset_ns;
  assert.ok(resent !== undefined, 'STATS carries realtime_offset_ns');
  const drift = BigInt(Math.round(resent)) - hello.realtimeOffsetNs;
  assert.ok(drift < 50_000_000n && drift > -50_000_000n, `offset in STATS drifts ${drift} ns from HELLO's`);

  // One connection each side, opened by connect and accept, with mirrored tuples.
  const opens = conns(l, port).filter((c) => c.kind === 'open');
  const client = opens.find((c) => c.pid === curlPid);
  const srv = opens.find((c) => c.pid === serverPid);
  assert.ok(client, `no CONN open from curl (pid ${curlPid}): ${JSON.stringify(opens, bigintJson)}`);
  assert.ok(srv, `no CONN open from the server (pid ${serverPid})`);
  assert.equal(opens.filter((c) => c.pid === curlPid).length, 1, 'curl reused one keep-alive connection');
  assert.equal(client.role, 'client');
  assert.equal(client.syscall, 'connect');
  assert.equal(srv.role, 'server');
  assert.match(srv.syscall, /^accept4?$/);
  assert.notEqual(client.connId, srv.connId);
  assert.equal(client.socket.family, 'ipv4');
  assert.deepEqual(client.socket.remote, { address: '127.0.0.1', port });
  assert.deepEqual(client.socket.local, srv.socket.remote);
  assert.deepEqual(client.socket.remote, srv.socket.local);
  assert.equal(client.comm, 'curl');

  const ev = data(l, port);
  const of = (c: ConnEvent, dir: 'egress' | 'ingress'): DataEvent[] =>
    ev.filter((e) => e.connId === c.connId && e.direction === dir);
  const text = (es: DataEvent[]) => Buffer.concat(es.map((e) => e.payload)).toString('latin1');
  for (const e of ev.filter((e) => e.connId === client.connId || e.connId === srv.connId)) {
    assert.equal(e.role, e.connId === client.connId ? 'client' : 'server');
    assert.ok(e.tsExitNs >= e.tsEnterNs);
    assert.deepEqual(e.socket, e.connId === client.connId ? client.socket : srv.socket);
  }

  // Requests leave curl and reach the server, in order.
  for (const [sent, got] of [
    [of(client, 'egress'), of(srv, 'ingress')],
    [of(srv, 'egress'), of(client, 'ingress')],
  ] as const) {
    assert.ok(sent.length > 0 && got.length > 0);
  }
  const reqOut = text(of(client, 'egress'));
  const reqIn = text(of(srv, 'ingress'));
  for (const p of paths) {
    assert.ok(reqOut.includes(`GET ${p} HTTP/1.1\r\n`), `curl egress lacks GET ${p}`);
    assert.ok(reqIn.includes(`GET ${p} HTTP/1.1\r\n`), `server ingress lacks GET ${p}`);
  }
  assert.equal(reqOut, reqIn, 'both sides saw the same request bytes');
  assert.ok(text(of(srv, 'egress')).startsWith('HTTP/1.1 200 OK\r\n'));
  assert.ok(text(of(client, 'ingress')).startsWith('HTTP/1.1 200 OK\r\n'));

  // stream_pos counts every byte in each direction: no gaps, no overlaps.
  for (const c of [client, srv]) {
    for (const dir of ['egress', 'ingress'] as const) {
      let pos = 0n;
      for (const e of of(c, dir)) {
        assert.equal(e.streamPos, pos, `${c.comm} ${dir} stream_pos`);
        assert.ok(e.bytes > 0);
        pos += BigInt(e.bytes);
      }
    }
  }

  // Vector sends: the payload is the iovecs concatenated in order.
  for (const sys of ['sendmsg', 'writev']) {
    const e: DataEvent | undefined = of(srv, 'egress').find((d) => d.syscall === sys);
    assert.ok(e, `no ${sys} event from the server`);
    const body = `body-of-${sys}\n`;
    assert.equal(e.payload.toString('latin1'), `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    assert.equal(e.truncated, false);
    assert.equal(e.payload.length, e.bytes);
  }
  const plain = of(srv, 'egress').find((d) => d.payload.includes('body-of-plain'));
  assert.ok(plain, 'no event for the plain response');
  assert.equal(plain.syscall, 'sendto');
  assert.equal(of(client, 'egress')[0]!.syscall, 'sendto');
  assert.equal(of(srv, 'ingress')[0]!.syscall, 'recvfrom');

  // A response larger than --max-payload is cut at the limit and flagged.
  const big = of(srv, 'egress').find((d) => d.bytes > MAX_PAYLOAD);
  assert.ok(big, 'no event for the big response');
  assert.equal(big.truncated, true);
  assert.equal(big.payload.length, MAX_PAYLOAD);
  assert.ok(big.payload.toString('latin1').startsWith('HTTP/1.1 200 OK\r\n'));
  for (const e of ev) assert.equal(e.truncated, e.payload.length < e.bytes);

  // Close records carry the totals seen on the connection.
  const sum = (es: DataEvent[]) => es.reduce((n, e) => n + BigInt(e.bytes), 0n);
  for (const c of [client, srv]) {
    const close = conns(l, port).find((x) => x.kind === 'close' && x.connId === c.connId);
    assert.ok(close, `no CONN close for ${c.comm}`);
    assert.equal(close.bytesSent, sum(of(c, 'egress')));
    assert.equal(close.bytesRecv, sum(of(c, 'ingress')));
    assert.ok(close.bytesSent > 0n && close.bytesRecv > 0n);
  }

  // Cumulative, self-describing STATS, each name documented.
  const stats = lastStats(l);
  const readme = readFileSync(join(ROOT, 'bpf', 'README.md'), 'utf8');
  for (const name of COUNTER_NAMES) {
    assert.ok(name in stats.counters, `STATS lacks ${name}`);
    assert.ok(readme.includes(`\`${name}\``), `bpf/README.md does not document ${name}`);
  }
  assert.ok(l.events.filter((e) => e.type === 'stats').length >= 2, 'periodic STATS, then a final one');
  assert.ok(stats.counters.data_events! >= ev.length);
  assert.ok(stats.counters.truncated_events! >= 1);
  assert.ok(stats.counters.truncated_bytes! >= BIG_BODY - MAX_PAYLOAD);
  assert.ok(stats.counters.conn_open_events! >= 2);
  assert.equal(stats.counters.drop_ringbuf_data, 0);
  assert.equal(stats.counters.drop_ringbuf_conn, 0);
  assert.equal(stats.counters.loader_bad_samples, 0);
});

/* A client that receives through recvmsg and readv (two iovecs each) after a MSG_PEEK. */
const CLIENT_PY = String.raw`
import os, socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))
req = b'GET /plain HTTP/1.1\r\nHost: x\r\n\r\n'
s.sendmsg([req[:10], req[10:]])
s.recv(16, socket.MSG_PEEK)
want = len(s.recv(4096, socket.MSG_PEEK))
a, b = bytearray(20), bytearray(4096)
got = s.recvmsg_into([a, b])[0]
assert got == want, (got, want)
s.sendall(b'GET /writev HTTP/1.1\r\nHost: x\r\n\r\n')
s.recv(1, socket.MSG_PEEK)
os.readv(s.fileno(), [a, b])
s.close()
`;

test('captures vector receives and skips MSG_PEEK', async (t) => {
  if (maybeSkip(t)) return;
  assertBuilt();
  const l = await startLoader(['--port', String(port), '--stats-interval-ms', '200']);
  const py = spawn('python3', ['-c', CLIENT_PY, String(port)], { stdio: ['ignore', 'ignore', 'inherit'] });
  const code = await new Promise((resolve) => py.on('exit', resolve));
  assert.equal(code, 0, 'python client failed');
  await waitFor(() => conns(l, port).some((c) => c.kind === 'close' && c.pid === py.pid));
  await stopLoader(l);

  const ev = data(l, port).filter((e) => e.pid === py.pid);
  const out = ev.filter((e) => e.direction === 'egress');
  const inc = ev.filter((e) => e.direction === 'ingress');
  assert.deepEqual(out.map((e) => e.syscall), ['sendmsg', 'sendto']);
  assert.equal(out[0]!.payload.toString('latin1'), 'GET /plain HTTP/1.1\r\nHost: x\r\n\r\n');
  // The peeks are not events: only the two real reads, each spanning both iovecs.
  assert.deepEqual(inc.map((e) => e.syscall), ['recvmsg', 'readv']);
  assert.ok(inc[0]!.payload.length > 20, 'recvmsg filled more than the first iovec');
  assert.match(inc[0]!.payload.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nbody-of-plain\n$/);
  assert.match(inc[1]!.payload.toString('latin1'), /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nbody-of-writev\n$/);
  assert.equal(inc[1]!.streamPos, BigInt(inc[0]!.bytes));
  for (const e of ev) assert.equal(e.role, 'client');
  assert.ok(lastStats(l).counters.skipped_peek! >= 3);
});

test('--exclude-port drops the connection in the kernel and counts it', async (t) => {
  if (maybeSkip(t)) return;
  assertBuilt();
  const l = await startLoader(['--exclude-port', String(port), '--stats-interval-ms', '200']);
  await curl([`http://127.0.0.1:${port}/a`, `http://127.0.0.1:${port}/b`]);
  await sleep(300);
  await stopLoader(l);
  assert.deepEqual(conns(l, port), []);
  assert.deepEqual(data(l, port), []);
  assert.ok(lastStats(l).counters.filtered_port! >= 4, 'filtered_port counts the skipped calls');
});

test('--pid traces only that process', async (t) => {
  if (maybeSkip(t)) return;
  assertBuilt();
  const l = await startLoader(['--pid', String(serverPid), '--stats-interval-ms', '200']);
  const curlPid = await curl([`http://127.0.0.1:${port}/a`, `http://127.0.0.1:${port}/b`]);
  await waitFor(() => conns(l, port).some((c) => c.kind === 'close'));
  await stopLoader(l);
  const mine = [...conns(l, port), ...data(l, port)];
  assert.ok(mine.some((e) => e.type === 'data' && e.pid === serverPid), 'server traffic is traced');
  assert.ok(mine.every((e) => e.pid === serverPid), 'nothing from other processes');
  assert.ok(!l.events.some((e) => (e.type === 'data' || e.type === 'conn') && e.pid === curlPid));
  assert.ok(lastStats(l).counters.filtered_pid! >= 2, 'filtered_pid counts curl\'s calls');
});

test('exits cleanly when the agent goes away (stdin EOF)', async (t) => {
  if (maybeSkip(t)) return;
  assertBuilt();
  const l = await startLoader();
  l.proc.stdin!.end();
  const code = await Promise.race([l.exited, sleep(10000, true).then(() => 'timeout' as const)]);
  assert.equal(code, 0);
  assert.equal(l.events[0]?.type, 'hello');
});

test('preflight: missing BTF is one clear line and exit code 2', (t) => {
  if (maybeSkip(t)) return;
  assertBuilt();
  const r = spawnSync(LOADER, [], {
    env: { ...process.env, WIRETRACE_BTF_PATH: '/nonexistent/vmlinux' },
    encoding: 'utf8',
    timeout: 10000,
  });
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^wiretrace-loader: error: missing BTF: \/nonexistent\/vmlinux/);
});

/* ---- TLS: OpenSSL uprobes (framing v2) ---- */

// Fixed ports in the range this suite's TLS tests own.
const TLS_PY_PORT = Number(process.env.WIRETRACE_TLS_TEST_PORT_BASE ?? 19010);
const TLS_NODE_PORT = TLS_PY_PORT + 1;
const TLS_GATEWAY_PORT = TLS_PY_PORT + 2;
const TLS_GUESS_PORT = Number(process.env.WIRETRACE_TLS_GUESS_TEST_PORT_BASE ?? TLS_PY_PORT + 3);
const PLAIN_GUESS_PORT = TLS_GUESS_PORT + 1;
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function tlsSkip(t: TestContext): boolean {
  if (maybeSkip(t)) return true;
  const why = tlsToolsMissing();
  if (why) t.skip(why);
  return why !== undefined;
}

function tlsRecords(l: Loader): TlsEvent[] {
  return l.events.filter((e): e is TlsEvent => e.type === 'tls');
}

const text = (es: DataEvent[]): string => Buffer.concat(es.map((e) => e.payload)).toString('latin1');

/**
 * One side of a TLS connection as the loader reported it: the CONN open, the
 * plaintext (TLS-flagged) events by direction, checked to belong to it.
 */
function tlsSide(l: Loader, port: number, pid: number, role: 'client' | 'server'): { open: ConnEvent; out: DataEvent[]; in: DataEvent[]; cipher: DataEvent[] } {
  // By role: Python's ssl module probes a listening socket with recv(), which reports it (role unknown).
  const open = conns(l, port).find((c) => c.kind === 'open' && c.pid === pid && c.role === role);
  assert.ok(open, `no CONN open from pid ${pid} on port ${port}`);
  const mine = data(l, port).filter((e) => e.connId === open.connId);
  const plain = mine.filter((e) => e.captureSource === 'tls');
  for (const e of plain) {
    // Tied to the connection: same id, same 4-tuple, same process and fd as its CONN open.
    assert.deepEqual(e.socket, open.socket);
    assert.equal(e.pid, pid);
    assert.equal(e.fd, open.fd);
    assert.equal(e.role, open.role);
    assert.match(e.syscall, /^SSL_(read|write)(_ex)?$/);
    assert.equal(e.direction, e.syscall.startsWith('SSL_write') ? 'egress' : 'ingress');
    assert.equal(e.truncated, false);
    assert.equal(e.payload.length, e.bytes);
  }
  // Plaintext positions count plaintext bytes: contiguous from 0 in each direction.
  for (const dir of ['egress', 'ingress'] as const) {
    let pos = 0n;
    for (const e of plain.filter((x) => x.direction === dir)) {
      assert.equal(e.streamPos, pos, `pid ${pid} ${dir} plaintext stream_pos`);
      pos += BigInt(e.bytes);
    }
  }
  return {
    open,
    out: plain.filter((e) => e.direction === 'egress'),
    in: plain.filter((e) => e.direction === 'ingress'),
    cipher: mine.filter((e) => e.captureSource !== 'tls'),
  };
}

function lastStatsHas(l: Loader, name: string, atLeast: number): boolean {
  const s = l.events.filter((e): e is StatsEvent => e.type === 'stats');
  return (s[s.length - 1]?.counters[name] ?? 0) >= atLeast;
}

describe('TLS plaintext from OpenSSL uprobes', { concurrency: false }, () => {
  let dir = '';
  let cert: Cert;

  before(() => {
    if (skipReason() || tlsToolsMissing()) return;
    dir = mkdtempSync(join(tmpdir(), 'wiretrace-tls-'));
    cert = makeCert(dir);
  });

  test('curl (system libssl) to a Python ssl server: both sides as TLS DATA on their connections', async (t) => {
    if (tlsSkip(t)) return;
    assertBuilt();
    const py = await startPeer('python3', ['-c', PY_TLS_SERVER, cert.cert, cert.key, String(TLS_PY_PORT)]);
    try {
      const pyPid = Number(py.fields[0]);
      const l = await startLoader(['--port', String(TLS_PY_PORT), '--stats-interval-ms', '200']);
      const base = `https://127.0.0.1:${TLS_PY_PORT}`;
      const c = await runClient('curl', ['-s', '-f', '--max-time', '10', '--cacert', cert.cert, '-H', `traceparent: ${TRACEPARENT}`, `${base}/tls/a?q=1`, `${base}/tls/b`]);
      assert.equal(c.code, 0, `curl failed: ${c.stderr}`);
      assert.equal(c.stdout, 'tls-hello /tls/a?q=1\ntls-hello /tls/b\n');
      await waitFor(() => conns(l, TLS_PY_PORT).filter((e) => e.kind === 'close').length >= 2 && lastStatsHas(l, 'tls_data_events', 8));
      await stopLoader(l);

      // The system libssl got its eight probes (four calls, entry and return) at start.
      const libssl = tlsRecords(l).find((r) => r.kind === 'lib-attached' && /\/libssl\.so\.[0-9.]+$/.test(r.path));
      assert.ok(libssl, `no lib-attached record for libssl: ${JSON.stringify(tlsRecords(l), bigintJson)}`);
      assert.equal(libssl.probes, 8);
      assert.equal(libssl.stack, 'openssl');

      const client = tlsSide(l, TLS_PY_PORT, c.pid, 'client');
      const server = tlsSide(l, TLS_PY_PORT, pyPid, 'server');
      assert.equal(client.open.role, 'client');
      assert.equal(client.open.comm, 'curl');
      assert.equal(server.open.role, 'server');
      assert.deepEqual(client.open.socket.remote, { address: '127.0.0.1', port: TLS_PY_PORT });
      assert.deepEqual(client.open.socket.local, server.open.socket.remote);
      assert.deepEqual(client.open.socket.remote, server.open.socket.local);

      // The plaintext requests leave curl and reach Python byte for byte; the responses come back.
      const reqOut = text(client.out);
      assert.match(reqOut, /^GET \/tls\/a\?q=1 HTTP\/1\.1\r\n[^]*traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\nGET \/tls\/b HTTP\/1\.1\r\n/);
      assert.equal(text(server.in), reqOut, 'server decrypted what curl encrypted');
      const respOut = text(server.out);
      assert.match(respOut, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\ntls-hello \/tls\/a\?q=1\nHTTP\/1\.1 200 OK\r\n[^]*tls-hello \/tls\/b\n$/);
      assert.equal(text(client.in), respOut);
      assert.ok(client.out.every((e) => e.syscall === 'SSL_write'), 'curl writes with SSL_write');
      assert.ok(server.in.every((e) => e.syscall === 'SSL_read_ex'), 'Python 3.11 reads with SSL_read_ex');

      // Syscall-level bytes of these connections are ciphertext (the handshake, before
      // the connection was known to be TLS): the plaintext never shows there.
      for (const e of [...client.cipher, ...server.cipher]) assert.ok(!e.payload.includes('HTTP/1.1'), `plaintext in a ${e.syscall} event`);
      // CONN close still counts wire (ciphertext) bytes, more than the plaintext.
      const close = conns(l, TLS_PY_PORT).find((e) => e.kind === 'close' && e.connId === client.open.connId);
      assert.ok(close && close.bytesSent > BigInt(reqOut.length), 'close counts ciphertext bytes');

      const stats = lastStats(l);
      const plainEvents = client.out.length + client.in.length + server.out.length + server.in.length;
      assert.ok(stats.counters.tls_data_events! >= plainEvents);
      assert.ok(stats.counters.tls_ciphertext_skipped! > 0, 'ciphertext syscalls of TLS connections are not reported');
      assert.equal(stats.counters.tls_unattributed, 0);
      assert.ok(stats.counters.tls_probed_files! >= 1);
      t.diagnostic(`curl: ${client.out.length}+${client.in.length} plaintext events, python: ${server.in.length}+${server.out.length}; ciphertext events skipped: ${stats.counters.tls_ciphertext_skipped}`);
    } finally {
      py.proc.kill('SIGTERM');
    }
  });

  test('node (OpenSSL inside /usr/bin/node) as server and as client', async (t) => {
    if (tlsSkip(t)) return;
    assertBuilt();
    const l = await startLoader(['--port', String(TLS_PY_PORT), '--port', String(TLS_NODE_PORT), '--stats-interval-ms', '200']);
    // Started after the loader: found through its exec event (or already probed for another node).
    const nodeSrv = await startPeer('node', ['--input-type=module', '-e', NODE_TLS_SERVER, cert.cert, cert.key, String(TLS_NODE_PORT)]);
    const py = await startPeer('python3', ['-c', PY_TLS_SERVER, cert.cert, cert.key, String(TLS_PY_PORT)]);
    try {
      const nodePid = Number(nodeSrv.fields[0]);
      const pyPid = Number(py.fields[0]);
      const nodeBin = realpathSync(process.execPath);
      await waitFor(() => tlsRecords(l).some((r) => r.kind === 'lib-attached' && r.path === nodeBin));
      assert.ok(tlsRecords(l).some((r) => r.kind === 'lib-attached' && r.path === nodeBin), `${nodeBin} got probes`);
      const c = await runClient('curl', ['-s', '-f', '--max-time', '10', '--cacert', cert.cert, `https://127.0.0.1:${TLS_NODE_PORT}/from-curl`]);
      assert.equal(c.code, 0, `curl failed: ${c.stderr}`);
      const nc = await runClient('node', ['--input-type=module', '-e', NODE_TLS_CLIENT, cert.cert, String(TLS_PY_PORT), '4bf92f3577b34da6a3ce929d0e0e4736', '/from-node/1', '/from-node/2']);
      assert.equal(nc.code, 0, `node client failed: ${nc.stderr}`);
      assert.equal(nc.stdout, '200\n200\n');
      await waitFor(() => conns(l, TLS_PY_PORT).filter((e) => e.kind === 'close').length >= 2 && conns(l, TLS_NODE_PORT).filter((e) => e.kind === 'close').length >= 2);
      await sleep(300);
      await stopLoader(l);

      // node as server: its memory-BIO TLS makes no syscall inside SSL_read, so the socket comes
      // from the read that fed it (bpf/README.md); the plaintext must land on node's own connection.
      const srv = tlsSide(l, TLS_NODE_PORT, nodePid, 'server');
      assert.equal(srv.open.role, 'server');
      assert.match(text(srv.in), /^GET \/from-curl HTTP\/1\.1\r\n/);
      assert.match(text(srv.out), /^HTTP\/1\.1 200 OK\r\n[^]*node-tls \/from-curl\n$/);
      const curlSide = tlsSide(l, TLS_NODE_PORT, c.pid, 'client');
      assert.equal(text(curlSide.out), text(srv.in));

      // node as client: both requests, in order, with the header it sent.
      const cli = tlsSide(l, TLS_PY_PORT, nc.pid, 'client');
      assert.equal(cli.open.role, 'client');
      const sent = text(cli.out);
      assert.match(sent, /^GET \/from-node\/1 HTTP\/1\.1\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000001-01\r\n[^]*GET \/from-node\/2 HTTP\/1\.1\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000002-01\r\n/);
      const pySide = tlsSide(l, TLS_PY_PORT, pyPid, 'server');
      assert.equal(text(pySide.in), sent, 'python received exactly what node sent');
      assert.equal(text(cli.in), text(pySide.out), 'node received exactly what python sent');
      assert.equal(lastStats(l).counters.tls_unattributed, 0, 'every plaintext call was tied to its socket');
      t.diagnostic(`node server: ${srv.in.length}+${srv.out.length} events; node client: ${cli.out.length}+${cli.in.length} events`);
    } finally {
      nodeSrv.proc.kill('SIGTERM');
      py.proc.kill('SIGTERM');
    }
  });

  test('node: a plain HTTP handler calling out over HTTPS keeps the two connections apart', async (t) => {
    if (tlsSkip(t)) return;
    assertBuilt();
    const l = await startLoader(['--port', String(TLS_PY_PORT), '--port', String(TLS_GATEWAY_PORT), '--stats-interval-ms', '200']);
    const py = await startPeer('python3', ['-c', PY_TLS_SERVER, cert.cert, cert.key, String(TLS_PY_PORT)]);
    const gw = await startPeer('node', ['--input-type=module', '-e', NODE_HTTP_TO_HTTPS_GATEWAY, cert.cert, String(TLS_GATEWAY_PORT), String(TLS_PY_PORT)]);
    try {
      const gwPid = Number(gw.fields[0]);
      const paths = ['/g1', '/g2', '/g3', '/g4', '/g5'];
      // Separate curl processes: a new plain connection per call, read just before each new TLS connection starts.
      for (const p of paths) {
        const c = await runClient('curl', ['-s', '-f', '--max-time', '10', `http://127.0.0.1:${TLS_GATEWAY_PORT}${p}`]);
        assert.equal(c.stdout, `gw:200:tls-hello /up${p}\n`);
      }
      await waitFor(() => conns(l, TLS_PY_PORT).filter((e) => e.kind === 'close' && e.pid === gwPid).length >= paths.length);
      await sleep(300);
      await stopLoader(l);
      const gwOpens = (port: number, role: 'client' | 'server'): ConnEvent[] => conns(l, port).filter((c) => c.kind === 'open' && c.pid === gwPid && c.role === role);
      // Plain side: syscall data only, the plaintext requests as they came.
      const plainIds = new Set(gwOpens(TLS_GATEWAY_PORT, 'server').map((c) => c.connId));
      assert.equal(plainIds.size, paths.length);
      const plain = data(l, TLS_GATEWAY_PORT).filter((e) => plainIds.has(e.connId));
      assert.ok(plain.every((e) => e.captureSource === undefined), 'no TLS plaintext landed on the plain connections');
      // TLS side: each upstream connection carries exactly its own request.
      const tlsOpens = gwOpens(TLS_PY_PORT, 'client');
      assert.equal(tlsOpens.length, paths.length);
      const sent = tlsOpens.map((o) => text(data(l, TLS_PY_PORT).filter((e) => e.connId === o.connId && e.captureSource === 'tls' && e.direction === 'egress')));
      for (const [i, p] of paths.entries()) assert.match(sent[i]!, new RegExp(`^GET /up${p} HTTP/1\\.1\\r\\n`), `TLS connection ${i} carries ${p}`);
      assert.equal(lastStats(l).counters.tls_unattributed, 0);
    } finally {
      gw.proc.kill('SIGTERM');
      py.proc.kill('SIGTERM');
    }
  });

  test('memory-BIO TLS: a plain socket read just before an SSL call never gets that call\'s plaintext', async (t) => {
    if (tlsSkip(t)) return;
    assertBuilt();
    // Started before the loader: the system libssl gets its probes at start, for every process mapping it.
    const py = await startPeer('python3', ['-c', PY_TLS_SERVER, cert.cert, cert.key, String(TLS_GUESS_PORT)]);
    const pong = await startPeer('python3', ['-c', PY_PLAIN_PONG_SERVER, String(PLAIN_GUESS_PORT)]);
    try {
      const l = await startLoader(['--port', String(TLS_GUESS_PORT), '--port', String(PLAIN_GUESS_PORT), '--stats-interval-ms', '200']);
      const c = await runClient('python3', ['-c', PY_MEMBIO_CLIENT_WITH_PLAIN_READS, cert.cert, String(TLS_GUESS_PORT), String(PLAIN_GUESS_PORT)]);
      assert.equal(c.code, 0, `client failed: ${c.stderr}`);
      assert.equal(c.stdout, 'HTTP/1.1 200 OK\n');
      await waitFor(() => conns(l, TLS_GUESS_PORT).filter((e) => e.kind === 'close').length >= 2 && conns(l, PLAIN_GUESS_PORT).filter((e) => e.kind === 'close').length >= 2);
      await sleep(300);
      await stopLoader(l);

      const plainOpen = conns(l, PLAIN_GUESS_PORT).find((e) => e.kind === 'open' && e.pid === c.pid && e.role === 'client');
      assert.ok(plainOpen, 'the client\'s plain connection was reported');
      const plain = data(l, PLAIN_GUESS_PORT).filter((e) => e.connId === plainOpen.connId);
      // Its pings read "pong": no TLS record header, so never taken for the SSL*'s socket.
      assert.deepEqual(plain.filter((e) => e.captureSource === 'tls').map((e) => e.payload.toString('latin1')), [], 'TLS plaintext landed on the plain connection');
      assert.equal(text(plain.filter((e) => e.direction === 'egress')), 'ping-1\nping-2\nping-3\n', 'the plain connection kept being reported after the SSL calls');
      assert.equal(text(plain.filter((e) => e.direction === 'ingress')), 'pong-1\npong-2\npong-3\n');

      // The response's SSL_read follows a read of TLS records on the TLS socket: attributed there.
      const tlsOpen = conns(l, TLS_GUESS_PORT).find((e) => e.kind === 'open' && e.pid === c.pid && e.role === 'client');
      assert.ok(tlsOpen);
      const got = text(data(l, TLS_GUESS_PORT).filter((e) => e.connId === tlsOpen.connId && e.captureSource === 'tls' && e.direction === 'ingress'));
      assert.match(got, /^HTTP\/1\.1 200 OK\r\n[^]*tls-hello \/membio\n$/);
      // The request's SSL_write had only the plain read to go on: left unattributed, and counted.
      assert.ok(lastStats(l).counters.tls_unattributed! >= 1, 'the unattributable SSL_write is counted');
    } finally {
      py.proc.kill('SIGTERM');
      pong.proc.kill('SIGTERM');
    }
  });

  test('a libssl copy gets probes when a process maps it, and loses them when none does', async (t) => {
    if (tlsSkip(t)) return;
    assertBuilt();
    const system = ['/usr/lib/x86_64-linux-gnu/libssl.so.3', '/usr/lib/aarch64-linux-gnu/libssl.so.3'].find((p) => existsSync(p));
    if (!system) {
      t.skip('no system libssl.so.3 to copy');
      return;
    }
    // A copy is another inode: only a process mapping it makes the loader probe it.
    const copy = join(dir, 'libssl.so.3');
    copyFileSync(system, copy);
    const l = await startLoader(['--port', String(TLS_PY_PORT), '--stats-interval-ms', '200']);
    assert.ok(!tlsRecords(l).some((r) => r.path === copy), 'not probed before anyone maps it');
    const user = await startPeer('python3', ['-c', `import ctypes, os, sys, time; ctypes.CDLL(${JSON.stringify(copy)}); print(os.getpid(), flush=True); time.sleep(60)`]);
    try {
      const pid = Number(user.fields[0]);
      // dlopen after start: found by an exec rescan or the next full scan (5 s).
      await waitFor(() => tlsRecords(l).some((r) => r.kind === 'lib-attached' && r.path === copy), 12_000);
      const attached = tlsRecords(l).find((r) => r.kind === 'lib-attached' && r.path === copy);
      assert.ok(attached, `${copy} got probes: ${JSON.stringify(tlsRecords(l), bigintJson)}`);
      assert.equal(attached.pid, pid);
      assert.equal(attached.probes, 8);
      user.proc.kill('SIGKILL');
      await waitFor(() => tlsRecords(l).some((r) => r.kind === 'lib-detached' && r.path === copy), 12_000);
      const detached = tlsRecords(l).find((r) => r.kind === 'lib-detached' && r.path === copy);
      assert.ok(detached, 'probes removed once no process maps the copy');
      assert.equal(detached.ino, attached.ino);
      // The system libssl is kept: short-lived clients depend on it being probed already.
      assert.ok(!tlsRecords(l).some((r) => r.kind === 'lib-detached' && r.path === system));
      await stopLoader(l);
    } finally {
      user.proc.kill('SIGKILL');
      if (l.proc.exitCode === null) l.proc.kill('SIGTERM');
    }
  });

  test('a statically linked, stripped OpenSSL client is reported unobserved, then gone', async (t) => {
    if (tlsSkip(t)) return;
    assertBuilt();
    const built = buildStaticTlsClient(dir);
    if ('missing' in built) {
      t.skip(`cannot build the static TLS client: ${built.missing}`);
      return;
    }
    const py = await startPeer('python3', ['-c', PY_TLS_SERVER, cert.cert, cert.key, String(TLS_PY_PORT)]);
    const l = await startLoader(['--port', String(TLS_PY_PORT), '--stats-interval-ms', '200']);
    let client: ChildProcess | undefined;
    try {
      const st = await startPeer(built.path, [String(TLS_PY_PORT)]);
      client = st.proc;
      const pid = client.pid!;
      await waitFor(() => tlsRecords(l).some((r) => r.kind === 'proc-unobserved' && r.pid === pid));
      const rec = tlsRecords(l).find((r) => r.kind === 'proc-unobserved' && r.pid === pid);
      assert.ok(rec, `no proc-unobserved record for pid ${pid}: ${JSON.stringify(tlsRecords(l), bigintJson)}`);
      assert.equal(rec.stack, 'static-openssl');
      assert.equal(rec.path, built.path);
      // Its traffic is ciphertext to us: no plaintext event, and the request never shows in clear.
      await waitFor(() => conns(l, TLS_PY_PORT).some((c) => c.kind === 'close' && c.pid === py.proc.pid));
      const mine = data(l, TLS_PY_PORT).filter((e) => e.pid === pid);
      assert.ok(mine.length > 0, 'its ciphertext syscalls are seen');
      assert.ok(mine.every((e) => e.captureSource !== 'tls' && !e.payload.includes('GET /static')));
      client.kill('SIGKILL');
      // Exited processes leave the list at the next full scan (every 5 s).
      await waitFor(() => tlsRecords(l).some((r) => r.kind === 'proc-gone' && r.pid === pid), 12_000);
      assert.ok(tlsRecords(l).some((r) => r.kind === 'proc-gone' && r.pid === pid), 'proc-gone after exit');
      await stopLoader(l);
    } finally {
      client?.kill('SIGKILL');
      py.proc.kill('SIGTERM');
      if (l.proc.exitCode === null) l.proc.kill('SIGTERM');
    }
  });

  test('--tls off attaches no probes and reports ciphertext only', async (t) => {
    if (tlsSkip(t)) return;
    assertBuilt();
    const py = await startPeer('python3', ['-c', PY_TLS_SERVER, cert.cert, cert.key, String(TLS_PY_PORT)]);
    try {
      const l = await startLoader(['--tls', 'off', '--port', String(TLS_PY_PORT), '--stats-interval-ms', '200']);
      assert.ok(l.stderr.some((s) => s.includes('TLS probes off')), l.stderr.join(' | '));
      const c = await runClient('curl', ['-s', '-f', '--max-time', '10', '--cacert', cert.cert, `https://127.0.0.1:${TLS_PY_PORT}/off`]);
      assert.equal(c.code, 0);
      await waitFor(() => conns(l, TLS_PY_PORT).filter((e) => e.kind === 'close').length >= 2);
      await stopLoader(l);
      assert.deepEqual(tlsRecords(l), []);
      const ev = data(l, TLS_PY_PORT);
      assert.ok(ev.length > 0);
      assert.ok(ev.every((e) => e.captureSource === undefined && !e.payload.includes('GET /off')));
      assert.equal(lastStats(l).counters.tls_data_events, 0);
      assert.equal(lastStats(l).counters.exec_events, 0);
    } finally {
      py.proc.kill('SIGTERM');
    }
  });
});

function bigintJson(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
