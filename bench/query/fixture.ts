/**
 * Query-benchmark stores built through the real ingest path: a loader byte
 * stream (capture/framing.ts `encode`) of HTTP/1.1 calls between six services
 * goes through FrameDecoder, IngestPipeline, SpanWriter and the SQLite store,
 * exactly as live capture does. Generated in chunks, so 10M spans never sit
 * in memory at once.
 *
 * Services are real processes (`sleep` children with OTEL_SERVICE_NAME set),
 * so the pipeline names them from /proc as it does in production. Traffic is
 * spread evenly in time at `spansPerSec`; every request carries a W3C
 * traceparent with a pseudo-random trace id (traceIdOf), ~2% answer 500, and
 * server latency varies from 0.1 to ~50 ms.
 *
 * Stores are cached under a directory keyed by schema version, size and
 * density; one is reused only when its `.done` marker exists (a build that
 * was interrupted is started over).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { encode, FrameDecoder } from '../../backend-agent/src/capture/framing.js';
import type { Direction, Role, SocketTuple } from '../../backend-agent/src/model/events.js';
import { IngestPipeline } from '../../backend-agent/src/pipeline.js';
import { SpanWriter } from '../../backend-agent/src/spans/span-writer.js';
import { openStore } from '../../backend-agent/src/store/index.js';
import { latestVersion } from '../../backend-agent/src/store/migrations.js';
import { SCHEMA_MIGRATIONS } from '../../backend-agent/src/store/schema.js';
import { createLogger } from '../../backend-agent/src/util/log.js';

export const SERVICES = ['gateway', 'frontend', 'orders', 'inventory', 'payments', 'catalog'];
/** Caller -> callee pairs: a small realistic graph (8 edges). */
const EDGES: Array<[number, number]> = [[0, 1], [1, 2], [1, 5], [2, 3], [2, 4], [3, 5], [4, 5], [0, 5]];
const CONNECTIONS_PER_EDGE = 8;
const CHUNK_REQUESTS = 2000;

export interface FixtureMeta {
  spans: number;
  spansPerSec: number;
  /** Unix µs of the first and last request. */
  firstUs: number;
  lastUs: number;
  buildSeconds: number;
  buildCpuSeconds: number;
  fileBytes: number;
}

export interface Fixture {
  path: string;
  meta: FixtureMeta;
  built: boolean;
}

/** Trace id of request i: a fixed pseudo-random 128-bit hex (never all zero). */
export function traceIdOf(i: number): string {
  const h = (x: number): string => (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 0).toString(16).padStart(8, '0');
  return `${h(i + 0x9e3779b9)}${h(i * 7 + 1)}${h(i * 13 + 2)}${h(i + 1)}`;
}

export function fixturePath(dir: string, spans: number, spansPerSec: number): string {
  return path.join(dir, `query-schema${latestVersion(SCHEMA_MIGRATIONS)}-${spans}-${spansPerSec}ps.db`);
}

export function readFixture(dir: string, spans: number, spansPerSec: number): Fixture | undefined {
  const file = fixturePath(dir, spans, spansPerSec);
  try {
    const meta = JSON.parse(fs.readFileSync(`${file}.done`, 'utf8')) as FixtureMeta;
    return fs.existsSync(file) ? { path: file, meta, built: false } : undefined;
  } catch {
    return undefined;
  }
}

/** Sleeping child processes named like the services, so /proc lookups name spans as in production. */
function startServiceProcesses(): ChildProcess[] {
  return SERVICES.map((name) =>
    spawn('sleep', ['100000'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OTEL_SERVICE_NAME: name }, stdio: 'ignore' }),
  );
}

interface Conn {
  clientId: bigint;
  serverId: bigint;
  client: SocketTuple;
  server: SocketTuple;
  caller: { pid: number; comm: string };
  callee: { pid: number; comm: string };
  pos: Map<string, bigint>;
}

export async function buildFixture(dir: string, spans: number, spansPerSec: number, log: (line: string) => void): Promise<Fixture> {
  const cached = readFixture(dir, spans, spansPerSec);
  if (cached) return cached;
  fs.mkdirSync(dir, { recursive: true });
  const file = fixturePath(dir, spans, spansPerSec);
  for (const suffix of ['', '-wal', '-shm', '.done']) fs.rmSync(file + suffix, { force: true });

  const children = startServiceProcesses();
  // An interrupted build (Ctrl-C, kill) must not leave the sleepers behind.
  const killChildren = (): void => children.forEach((c) => c.kill());
  process.once('exit', killChildren);
  const cpu0 = process.cpuUsage();
  const t0 = Date.now();
  const store = openStore({ path: file, retention: {} });
  try {
    const quiet = createLogger('error', () => {});
    const writer = new SpanWriter(store, quiet);
    const pipeline = new IngestPipeline({ hostName: 'bench-host', log: quiet, sink: (s) => writer.add(s) });
    const decoder = new FrameDecoder();
    const requests = Math.ceil(spans / 2);
    const stepNs = BigInt(Math.round(2e9 / spansPerSec)); // two spans per request
    // The data ends about now, so "the last hour" is a realistic query window.
    const spanNs = BigInt(requests) * stepNs;
    const startKernelNs = 1_000_000_000n;
    const realtimeOffsetNs = BigInt(Date.now()) * 1_000_000n - spanNs - startKernelNs;
    const procs = children.map((c, i) => ({ pid: c.pid!, comm: SERVICES[i]! }));

    const conns: Conn[] = [];
    const head: Buffer[] = [encode.preamble(), encode.hello({ realtimeOffsetNs, loaderPid: 1, maxPayload: 4096, ncpus: 2, kernelRelease: 'synthetic' })];
    let id = 1n;
    EDGES.forEach(([a, b], e) => {
      for (let k = 0; k < CONNECTIONS_PER_EDGE; k++) {
        const port = 8000 + b;
        const client: SocketTuple = { family: 'ipv4', local: { address: `10.1.0.${a + 1}`, port: 30000 + e * 100 + k }, remote: { address: `10.1.0.${b + 1}`, port } };
        const server: SocketTuple = { family: 'ipv4', local: client.remote, remote: client.local };
        const conn: Conn = { clientId: id++, serverId: id++, client, server, caller: procs[a]!, callee: procs[b]!, pos: new Map() };
        conns.push(conn);
        head.push(connEvent(startKernelNs - 1000n, conn.clientId, conn.caller, 'client', 'connect', client, 'open'));
        head.push(connEvent(startKernelNs - 1000n, conn.serverId, conn.callee, 'server', 'accept4', server, 'open'));
      }
    });
    pipeline.handle(decoder.push(Buffer.concat(head)));

    let nextProgress = 0;
    for (let first = 0; first < requests; first += CHUNK_REQUESTS) {
      const parts: Buffer[] = [];
      for (let i = first; i < Math.min(requests, first + CHUNK_REQUESTS); i++) {
        const conn = conns[(i * 2654435761) % conns.length >>> 0]!;
        const t = startKernelNs + BigInt(i) * stepNs;
        const serverUs = 100 + ((i * 48271) % 50_000) * ((i % 17) === 0 ? 1 : 0.05);
        const serverNs = BigInt(Math.round(serverUs * 1000));
        const status = i % 50 === 7 ? 500 : 200;
        const req = Buffer.from(request(i, conn));
        const res = Buffer.from(response(status));
        parts.push(dataEvent(t, conn, conn.clientId, conn.caller, 'client', conn.client, 'egress', req));
        parts.push(dataEvent(t + 20_000n, conn, conn.serverId, conn.callee, 'server', conn.server, 'ingress', req));
        parts.push(dataEvent(t + 20_000n + serverNs, conn, conn.serverId, conn.callee, 'server', conn.server, 'egress', res));
        parts.push(dataEvent(t + 40_000n + serverNs, conn, conn.clientId, conn.caller, 'client', conn.client, 'ingress', res));
      }
      pipeline.handle(decoder.push(Buffer.concat(parts)));
      writer.flushThrottled();
      if (writer.writeError) throw new Error(`fixture build: ${writer.writeError}`);
      const done = (first + CHUNK_REQUESTS) / requests;
      if (done >= nextProgress) {
        log(`  building ${fmt(spans)}-span store: ${Math.min(100, Math.round(done * 100))}% (${Math.round((Date.now() - t0) / 1000)} s)`);
        nextProgress += 0.1;
        await new Promise((r) => setImmediate(r)); // let progress lines out
      }
    }
    pipeline.flushAll();
    writer.flush();
    const stored = store.stats();
    const cpu = process.cpuUsage(cpu0);
    const firstUs = Number((startKernelNs + realtimeOffsetNs) / 1000n);
    const meta: FixtureMeta = {
      spans: stored.spanCount,
      spansPerSec,
      firstUs,
      lastUs: firstUs + Number(spanNs / 1000n),
      buildSeconds: (Date.now() - t0) / 1000,
      buildCpuSeconds: (cpu.user + cpu.system) / 1e6,
      fileBytes: 0,
    };
    store.close();
    meta.fileBytes = fs.statSync(file).size;
    fs.writeFileSync(`${file}.done`, JSON.stringify(meta));
    return { path: file, meta, built: true };
  } finally {
    store.close();
    killChildren();
    process.off('exit', killChildren);
  }
}

function fmt(n: number): string {
  return n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n);
}

function request(i: number, conn: Conn): string {
  return (
    `GET /api/${conn.callee.comm}/items/${i % 997}?fields=stock HTTP/1.1\r\n` +
    `Host: ${conn.callee.comm}:${conn.client.remote.port}\r\n` +
    'User-Agent: bench/1.0\r\nAccept: application/json\r\n' +
    `traceparent: 00-${traceIdOf(i)}-${traceIdOf(i).slice(0, 16)}-01\r\n\r\n`
  );
}

const BODY = JSON.stringify({ id: 0, sku: 'ABC-1234', inStock: true, quantity: 17 });
function response(status: number): string {
  return `HTTP/1.1 ${status} ${status === 200 ? 'OK' : 'Internal Server Error'}\r\nContent-Type: application/json\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`;
}

function connEvent(tsNs: bigint, connId: bigint, who: { pid: number; comm: string }, role: Role, syscall: string, socket: SocketTuple, kind: 'open' | 'close'): Buffer {
  return encode.conn({ tsNs, connId, cgroupId: 1n, pid: who.pid, tid: who.pid, fd: 7, kind, role, syscall, socket, bytesSent: 0n, bytesRecv: 0n, comm: who.comm });
}

function dataEvent(tsExitNs: bigint, conn: Conn, connId: bigint, who: { pid: number; comm: string }, role: Role, socket: SocketTuple, direction: Direction, payload: Buffer): Buffer {
  const key = `${connId}|${direction}`;
  const streamPos = conn.pos.get(key) ?? 0n;
  conn.pos.set(key, streamPos + BigInt(payload.length));
  return encode.data({
    tsEnterNs: tsExitNs - 5_000n, tsExitNs, connId, cgroupId: 1n, streamPos, bytes: payload.length, pid: who.pid, tid: who.pid, fd: 7,
    direction, role, syscall: direction === 'egress' ? 'write' : 'read', truncated: false, socket, comm: who.comm, payload,
  });
}
