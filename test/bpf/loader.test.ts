/**
 * Integration test of bpf/wiretrace-loader against the real kernel: needs root
 * and BTF, and a loader built beforehand with `make -C bpf`.
 *
 * The loader never traces its parent (this test process), so every byte we
 * expect to see comes from child processes: a Python HTTP server and curl.
 */
import { test, before, after } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameDecoder } from '../../backend-agent/src/capture/framing.js';
import type {
  CaptureEvent,
  ConnEvent,
  DataEvent,
  HelloEvent,
  StatsEvent,
} from '../../backend-agent/src/model/events.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LOADER = join(ROOT, 'bpf', 'wiretrace-loader');
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
  'loader_records',
  'loader_bytes',
  'loader_bad_samples',
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
  assert.equal(head.readUInt16LE(4), 1);
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

function bigintJson(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? v.toString() : v;
}
