/**
 * The pipeline stage alone (decode + tracking + parsing + span building, no
 * store), for profiling it and for checking that a change leaves its spans
 * exactly as they were.
 *
 *   node --import tsx bench/ingest/pipeline-check.ts --time [--requests N] [--repeats R]
 *     exchanges per CPU-second of the bench stream (bench/ingest/synthetic-stream.ts), median [min..max]
 *   node --import tsx bench/ingest/pipeline-check.ts --profile FILE.cpuprofile [--requests N] [--repeats R]
 *     the same runs under the V8 profiler, started after the stream is built (so the
 *     profile holds only the pipeline); read it with bench/profile-summary.ts
 *   node --import tsx bench/ingest/pipeline-check.ts --dump FILE [--requests N]
 *     every span of the bench stream and of a varied stream (credentials, B3, tracestate,
 *     chunked and split messages, errors, pipelining) as JSON lines, with the clock frozen
 *     and /proc replaced by a fixed one, so dumps of two trees can be compared with cmp
 *
 * A file of its own rather than a mode of bench/ingest.ts: that script measures
 * all stages; this one exists to compare trees stage by stage.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Session } from 'node:inspector';
import { FrameDecoder, encode } from '../../backend-agent/src/capture/framing.js';
import { IngestPipeline } from '../../backend-agent/src/pipeline.js';
import type { Direction, Role, SocketTuple } from '../../backend-agent/src/model/events.js';
import type { Span } from '../../backend-agent/src/model/span.js';
import { createLogger } from '../../backend-agent/src/util/log.js';
import { summarize } from '../lib/stats.js';
import { optionReader } from '../lib/cli.js';
import { buildStream } from './synthetic-stream.js';

const args = process.argv.slice(2);
const value = optionReader(args);
const requests = Number(value('--requests') ?? 10_000);
const repeats = Number(value('--repeats') ?? 5);
const quiet = createLogger('error', () => {});

function pieces(bytes: Buffer, size = 64 * 1024): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, Math.min(bytes.length, at + size)));
  return out;
}

function runPipeline(chunks: Buffer[], sink: (spans: Span[]) => void, procRoot?: string): number {
  const pipeline = new IngestPipeline({ hostName: 'bench', log: quiet, sink, ...(procRoot ? { procRoot } : {}) });
  const dec = new FrameDecoder();
  for (const c of chunks) pipeline.handle(dec.push(c));
  pipeline.flushAll();
  return pipeline.health().exchanges;
}

function timeRuns(chunks: Buffer[], expected: number): number[] {
  const rates: number[] = [];
  let discarded = 0;
  runPipeline(chunks, (s) => void (discarded += s.length)); // warm-up, untimed
  for (let i = 0; i < repeats; i++) {
    const cpu0 = process.cpuUsage();
    const got = runPipeline(chunks, (s) => void (discarded += s.length));
    const cpu = process.cpuUsage(cpu0);
    if (got !== expected) throw new Error(`lost exchanges: ${expected - got}`);
    rates.push(expected / ((cpu.user + cpu.system) / 1e6));
  }
  return rates;
}

function post<T>(session: Session, method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res as T))));
}

async function main(): Promise<void> {
  const dumpFile = value('--dump');
  if (dumpFile) {
    dump(dumpFile);
    return;
  }
  const stream = buildStream({ requests, connections: 64 });
  const chunks = pieces(stream.bytes);
  const profileFile = value('--profile');
  let session: Session | undefined;
  if (profileFile) {
    session = new Session();
    session.connect();
    await post(session, 'Profiler.enable');
    await post(session, 'Profiler.setSamplingInterval', { interval: 100 });
    await post(session, 'Profiler.start');
  }
  const rates = timeRuns(chunks, stream.expectedExchanges);
  if (session && profileFile) {
    const { profile } = await post<{ profile: object }>(session, 'Profiler.stop');
    fs.writeFileSync(profileFile, JSON.stringify(profile));
    session.disconnect();
  }
  const s = summarize(rates);
  const us = 1e6 / s.median;
  console.log(
    `pipeline: ${Math.round(s.median)} [${Math.round(s.min)}..${Math.round(s.max)}] exchanges/CPU-s (${us.toFixed(2)} µs per exchange), ${stream.expectedExchanges} exchanges, ${repeats} runs`,
  );
  console.log(`PIPELINE_JSON ${JSON.stringify({ requests, repeats, rates })}`);
}

// ---------------------------------------------------------------------------
// Deterministic span dump
// ---------------------------------------------------------------------------

const FROZEN_NOW_MS = 1_790_000_000_000;

/** A /proc with the two pids the streams use, fixed so dumps of two runs compare. */
function fakeProc(): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-pipeline-proc-'));
  const procs = [
    { pid: process.pid, comm: 'node', cmdline: ['node', '/srv/checkout/server.js', '--api-key=hunter2'], env: '' },
    { pid: process.ppid, comm: 'inventory', cmdline: ['/usr/bin/inventory', '--port', '8080'], env: 'OTEL_SERVICE_NAME=inventory-svc\0' },
  ];
  for (const p of procs) {
    const dir = path.join(root, String(p.pid));
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'stat'), `${p.pid} (${p.comm}) S 1 1 1 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 424242 0 0\n`);
    fs.writeFileSync(path.join(dir, 'comm'), `${p.comm}\n`);
    fs.writeFileSync(path.join(dir, 'cmdline'), `${p.cmdline.join('\0')}\0`);
    fs.writeFileSync(path.join(dir, 'environ'), p.env);
    fs.writeFileSync(path.join(dir, 'cgroup'), '0::/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope\n');
    fs.symlinkSync(p.cmdline[0]!, path.join(dir, 'exe'));
    fs.symlinkSync('/srv', path.join(dir, 'cwd'));
  }
  return root;
}

function dump(file: string): void {
  const realNow = Date.now;
  Date.now = () => FROZEN_NOW_MS;
  const procRoot = fakeProc();
  const lines: string[] = [];
  const pidPattern = new RegExp(`":(${process.pid}|${process.ppid})([,}])`, 'g');
  const normalise = (json: string): string => json.replace(pidPattern, (_m, pid: string, end: string) => `":"PID-${pid === String(process.pid) ? 'A' : 'B'}"${end}`);
  try {
    const streams: Array<[string, Buffer]> = [
      ['bench', buildStream({ requests: Math.min(requests, 4000), connections: 64 }).bytes],
      ['varied', variedStream()],
    ];
    for (const [name, bytes] of streams) {
      // Two chunkings: whole 64 KiB reads, and small cuts that split records and messages.
      for (const size of [64 * 1024, 97]) {
        let n = 0;
        const exchanges = runPipeline(pieces(bytes, size), (spans) => {
          for (const s of spans) lines.push(`${name}/${size}#${n++} ${normalise(JSON.stringify(s))}`);
        }, procRoot);
        lines.push(`${name}/${size} exchanges=${exchanges}`);
      }
    }
  } finally {
    Date.now = realNow;
    fs.rmSync(procRoot, { recursive: true, force: true });
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
  console.log(`${lines.length} lines -> ${file}`);
}

/** Traffic shapes the bench stream lacks, one connection each, all on loopback. */
function variedStream(): Buffer {
  const parts: Buffer[] = [encode.preamble()];
  let t = 2_000_000_000n;
  const tick = (): bigint => (t += 15_000n);
  parts.push(encode.hello({ realtimeOffsetNs: 1_700_000_000_000_000_000n, loaderPid: 7, maxPayload: 4096, ncpus: 2, kernelRelease: 'synthetic' }));
  const A = { pid: process.pid, comm: 'node' };
  const B = { pid: process.ppid, comm: 'inventory' };
  let nextId = 100n;
  let port = 50000;

  interface Side {
    id: bigint;
    who: { pid: number; comm: string };
    role: Role;
    socket: SocketTuple;
    pos: { egress: bigint; ingress: bigint };
  }
  const open = (family: 'ipv4' | 'ipv6' = 'ipv4', serverPort = 8080, withOpen = true): [Side, Side] => {
    const addr = family === 'ipv4' ? '127.0.0.1' : '::1';
    const cs: SocketTuple = { family, local: { address: addr, port: port++ }, remote: { address: addr, port: serverPort } };
    const ss: SocketTuple = { family, local: cs.remote, remote: cs.local };
    const c: Side = { id: nextId++, who: A, role: 'client', socket: cs, pos: { egress: 0n, ingress: 0n } };
    const s: Side = { id: nextId++, who: B, role: 'server', socket: ss, pos: { egress: 0n, ingress: 0n } };
    if (withOpen) {
      parts.push(encode.conn({ tsNs: tick(), connId: c.id, cgroupId: 1n, pid: A.pid, tid: A.pid, fd: 9, kind: 'open', role: 'client', syscall: 'connect', socket: cs, bytesSent: 0n, bytesRecv: 0n, comm: A.comm }));
      parts.push(encode.conn({ tsNs: tick(), connId: s.id, cgroupId: 1n, pid: B.pid, tid: B.pid, fd: 10, kind: 'open', role: 'server', syscall: 'accept4', socket: ss, bytesSent: 0n, bytesRecv: 0n, comm: B.comm }));
    }
    return [c, s];
  };
  const data = (side: Side, direction: Direction, text: string | Buffer, opts: { captured?: number; skip?: number; tid?: number } = {}): void => {
    const payload = typeof text === 'string' ? Buffer.from(text, 'latin1') : text;
    const bytes = payload.length;
    const pos = side.pos[direction] + BigInt(opts.skip ?? 0);
    side.pos[direction] = pos + BigInt(bytes);
    const captured = opts.captured ?? bytes;
    const ts = tick();
    parts.push(
      encode.data({
        tsEnterNs: ts - 4_000n,
        tsExitNs: ts,
        connId: side.id,
        cgroupId: 1n,
        streamPos: pos,
        bytes,
        pid: side.who.pid,
        tid: opts.tid ?? side.who.pid,
        fd: 9,
        direction,
        role: side.role,
        syscall: direction === 'egress' ? 'write' : 'read',
        truncated: captured < bytes,
        socket: side.socket,
        comm: side.who.comm,
        payload: payload.subarray(0, captured),
      }),
    );
  };
  const both = (pair: [Side, Side], req: string | Buffer | string[], res: string | Buffer | string[]): void => {
    const [c, s] = pair;
    for (const piece of Array.isArray(req) ? req : [req]) {
      data(c, 'egress', piece);
      data(s, 'ingress', piece);
    }
    for (const piece of Array.isArray(res) ? res : [res]) {
      data(s, 'egress', piece);
      data(c, 'ingress', piece);
    }
  };
  const close = (pair: [Side, Side]): void => {
    for (const side of pair) {
      parts.push(encode.conn({ tsNs: tick(), connId: side.id, cgroupId: 1n, pid: side.who.pid, tid: side.who.pid, fd: 9, kind: 'close', role: side.role, syscall: 'close', socket: side.socket, bytesSent: 0n, bytesRecv: 0n, comm: side.who.comm }));
    }
  };
  const ok = (body = '{"ok":true}', extra = ''): string => `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n${extra}Content-Length: ${body.length}\r\n\r\n${body}`;

  // Credentials everywhere they can be: all must come out redacted.
  const creds = open();
  both(
    creds,
    'POST /login?user=bob&password=pw123&access_token=abc&x=1 HTTP/1.1\r\nHost: auth.internal:8443\r\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig\r\nCookie: sid=s3cr3t; theme=dark\r\nX-Api-Key: k-123\r\nX-Session-Token: tok\r\nProxy-Authorization: Basic dXNlcjpwYXNz\r\nContent-Length: 5\r\n\r\nhello',
    ok('{"token":"x"}', 'Set-Cookie: sid=new; HttpOnly\r\nSet-Cookie: other=2\r\n'),
  );
  both(creds, 'GET /reset/sk_live_abcdefghijklmnopqrstuvwx/confirm HTTP/1.1\r\nHost: auth\r\nauthorization: token-without-scheme\r\n\r\n', 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  both(creds, 'GET /users/eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abcdefgh/profile?sig=zz HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n', 'HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\nno');
  close(creds);

  // Every propagation format, and the ways they can be wrong.
  const ctx = open('ipv6', 9090);
  const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
  both(ctx, `GET /a HTTP/1.1\r\nHost: svc\r\ntraceparent: 00-${traceId}-00f067aa0ba902b7-01\r\ntracestate: congo=t61rcWkgMzE,rojo=00f067aa0ba902b7\r\nX-Correlation-ID: corr-1\r\nRequest-Id: |abc.1.\r\n\r\n`, ok());
  both(ctx, 'GET /b HTTP/1.1\r\nHost: svc\r\nb3: 80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1-05e3ac9a4f6e3b90\r\n\r\n', ok());
  both(ctx, 'GET /c HTTP/1.1\r\nHost: svc\r\nX-B3-TraceId: 463ac35c9f6413ad48485a3953bb6124\r\nX-B3-SpanId: a2fb4a1d1a96d312\r\nX-B3-ParentSpanId: 0020000000000001\r\nX-B3-Sampled: 1\r\n\r\n', ok());
  both(ctx, 'GET /d HTTP/1.1\r\nHost: svc\r\nuber-trace-id: 7b3bf470c8b1a7a1:7b3bf470c8b1a7a2:0:1\r\n\r\n', ok());
  both(ctx, 'GET /e HTTP/1.1\r\nHost: svc\r\nX-Amzn-Trace-Id: Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1\r\n\r\n', ok());
  both(ctx, `GET /f HTTP/1.1\r\nHost: svc\r\ntraceparent: 00-${traceId}-0000000000000000-01\r\ntraceparent: 00-${traceId}-00f067aa0ba902b7-01\r\nx-request-id: a\r\nx-request-id: b\r\n\r\n`, ok());
  both(ctx, 'GET /g HTTP/1.1\r\nHost: svc\r\ntraceparent: garbage\r\nX-Request-ID: 3f2c7d10-8a4b-9c1d-8e2f-0123456789ab\r\nb3: 0\r\n\r\n', ok());
  both(ctx, `GET /h HTTP/1.1\r\nHost: svc\r\nTraceParent:   00-${traceId}-00f067aa0ba902b7-00  \r\nUser-Agent: curl/8.0\r\n\r\n`, ok());
  close(ctx);

  // Bodies: chunked with trailers, split heads and bodies, pipelining, interim responses, HEAD, no close.
  const bodies = open();
  both(
    bodies,
    ['POST /upload/12345/parts/550e8400-e29b-41d4-a716-446655440000 HTTP/1.1\r\nHost: files\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel', 'lo\r\n0\r\nX-Checksum: 1\r\n\r\n'],
    ['HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n', '0\r\n\r\n'],
  );
  both(bodies, ['GET /split/he', 'ad?q=1 HTTP/1.1\r\nHo', 'st: files\r\n\r\n'], ['HTTP/1.1 200 OK\r\nContent-Le', 'ngth: 10\r\n\r\n01234', '56789']);
  both(bodies, 'GET /p1 HTTP/1.1\r\nHost: files\r\n\r\nGET /p2 HTTP/1.1\r\nHost: files\r\n\r\nHEAD /p3 HTTP/1.1\r\nHost: files\r\n\r\n', `${ok('1')}${ok('22')}HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\n`);
  both(bodies, 'DELETE /items/deadbeefcafe0123?force=true&token=abc HTTP/1.1\r\nHost: files\r\n\r\n', 'HTTP/1.1 204 No Content\r\n\r\n');
  // A request whose response never comes: reported at close.
  data(bodies[0], 'egress', 'GET /never HTTP/1.1\r\nHost: files\r\n\r\n');
  data(bodies[1], 'ingress', 'GET /never HTTP/1.1\r\nHost: files\r\n\r\n');
  close(bodies);

  // Truncated capture (prefix limit) and a gap; a thread id that is not the pid.
  const cut = open();
  const big = 'x'.repeat(6000);
  both(cut, 'GET /big HTTP/1.1\r\nHost: big\r\n\r\n', []);
  data(cut[1], 'egress', ok(big), { captured: 4096, tid: process.ppid + 1 });
  data(cut[0], 'ingress', ok(big), { captured: 4096 });
  data(cut[0], 'egress', 'GET /after-gap HTTP/1.1\r\nHost: big\r\n\r\n', { skip: 100 });
  data(cut[1], 'ingress', 'GET /after-gap HTTP/1.1\r\nHost: big\r\n\r\n', { skip: 100 });
  both(cut, 'GET /next HTTP/1.1\r\nHost: big\r\n\r\n', ok());
  close(cut);

  // Joined mid-stream (no open event): role from the bytes; a remote peer (not on this host).
  const mid = open('ipv4', 80, false);
  mid[0].socket = { family: 'ipv4', local: { address: '10.0.0.5', port: 41000 }, remote: { address: '93.184.216.34', port: 80 } };
  mid[0].role = 'unknown';
  data(mid[0], 'egress', 'GET /ext HTTP/1.0\r\nHost: example.com\r\nConnection: close\r\n\r\n');
  data(mid[0], 'ingress', 'HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\nmoved');
  parts.push(encode.conn({ tsNs: tick(), connId: mid[0].id, cgroupId: 1n, pid: A.pid, tid: A.pid, fd: 9, kind: 'close', role: 'client', syscall: 'close', socket: mid[0].socket, bytesSent: 0n, bytesRecv: 0n, comm: A.comm }));

  // Not HTTP: must cost nothing and produce nothing.
  const other = open('ipv4', 6000);
  for (let i = 0; i < 10; i++) both(other, Buffer.from([0x16, 0x03, 0x01, i]), Buffer.from([0x16, 0x03, 0x03, i]));
  close(other);

  return Buffer.concat(parts);
}

await main();
