/**
 * Builds a loader byte stream (docs/FRAMING.md) of realistic HTTP/1.1
 * traffic with the agent's own encoder, so the ingest benchmark feeds the
 * real decoder exactly what the C loader would write.
 *
 * Each request is seen as it is on loopback: four data events (client write,
 * server read, server write, client read) over keep-alive connections that
 * are interleaved round-robin, which yields two exchanges (a client span and
 * a server span) per request.
 *
 * Header trace ids and parent ids are random, as real ones are, from a seed:
 * the same seed gives the same stream. The seed also names the capture
 * session (the loader pid in the HELLO record), so the ids the agent derives
 * for header-less requests differ between streams of different seeds too.
 */
import { encode } from '../../backend-agent/src/capture/framing.js';
import type { Direction, Role, SocketTuple } from '../../backend-agent/src/model/events.js';
import { randomIds, type IdSource } from './random-ids.js';

export interface StreamShape {
  requests: number;
  connections: number;
  /** Share of requests that carry a W3C traceparent header, 0..1. */
  tracedShare?: number;
  /** Seed of the header ids and of the capture session; a positive integer, default 1. */
  seed?: number;
  /** Wall-clock time of the stream's first event, Unix ms; default now. */
  startUnixMs?: number;
}

export interface SyntheticStream {
  bytes: Buffer;
  requests: number;
  /** Exchanges the pipeline should produce: one per request per side. */
  expectedExchanges: number;
  dataEvents: number;
  /** Time from the stream's first event to its last, µs. */
  durationUs: number;
}

// Live pids (this process and its parent), so the pipeline's /proc lookups
// hit and cache as they do for real traffic; a pid that does not exist is
// looked up again on every event, which would measure the wrong thing.
const CLIENT = { pid: process.pid, comm: 'checkout' };
const SERVER = { pid: process.ppid, comm: 'inventory' };
const SERVER_PORT = 8080;
const RESPONSE_BODY = JSON.stringify({ id: 0, sku: 'ABC-1234', inStock: true, quantity: 17, warehouse: 'eu-west' });

function request(i: number, ids: IdSource | undefined): string {
  const lines = [
    `GET /api/items/${i % 5000}?fields=stock HTTP/1.1`,
    `Host: inventory:${SERVER_PORT}`,
    'User-Agent: checkout/2.3 node-fetch',
    'Accept: application/json',
  ];
  if (ids) lines.push(`traceparent: 00-${ids.traceId()}-${ids.spanId()}-01`);
  lines.push(`X-Request-ID: req-${i}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

function response(): string {
  return (
    'HTTP/1.1 200 OK\r\n' +
    'Content-Type: application/json\r\n' +
    `Content-Length: ${Buffer.byteLength(RESPONSE_BODY)}\r\n` +
    'Connection: keep-alive\r\n\r\n' +
    RESPONSE_BODY
  );
}

interface Conn {
  clientId: bigint;
  serverId: bigint;
  client: SocketTuple;
  server: SocketTuple;
  pos: Map<string, bigint>;
}

export function buildStream(shape: StreamShape): SyntheticStream {
  const tracedShare = shape.tracedShare ?? 0.5;
  const seed = shape.seed ?? 1;
  const ids = randomIds(seed);
  const parts: Buffer[] = [encode.preamble()];
  const t0 = 1_000_000_000n;
  let t = t0;
  const tick = (): bigint => (t += 20_000n); // 20 µs between syscalls
  parts.push(
    encode.hello({
      realtimeOffsetNs: BigInt(Math.round(shape.startUnixMs ?? Date.now())) * 1_000_000n - t,
      loaderPid: seed,
      maxPayload: 4096,
      ncpus: 2,
      kernelRelease: 'synthetic',
    }),
  );

  const conns: Conn[] = [];
  for (let c = 0; c < shape.connections; c++) {
    const client: SocketTuple = {
      family: 'ipv4',
      local: { address: '127.0.0.1', port: 40000 + c },
      remote: { address: '127.0.0.1', port: SERVER_PORT },
    };
    const server: SocketTuple = { family: 'ipv4', local: client.remote, remote: client.local };
    const conn: Conn = { clientId: BigInt(2 * c + 1), serverId: BigInt(2 * c + 2), client, server, pos: new Map() };
    conns.push(conn);
    parts.push(connEvent(tick(), conn.clientId, CLIENT, 'client', 'connect', client, 'open'));
    parts.push(connEvent(tick(), conn.serverId, SERVER, 'server', 'accept4', server, 'open'));
  }

  const res = Buffer.from(response());
  let dataEvents = 0;
  for (let i = 0; i < shape.requests; i++) {
    const conn = conns[i % conns.length]!;
    // Deterministic spread of traced requests, so runs are comparable.
    const req = Buffer.from(request(i, (i * 2654435761) % 1000 < tracedShare * 1000 ? ids : undefined));
    parts.push(dataEvent(tick(), conn, conn.clientId, CLIENT, 'client', conn.client, 'egress', req));
    parts.push(dataEvent(tick(), conn, conn.serverId, SERVER, 'server', conn.server, 'ingress', req));
    parts.push(dataEvent(tick(), conn, conn.serverId, SERVER, 'server', conn.server, 'egress', res));
    parts.push(dataEvent(tick(), conn, conn.clientId, CLIENT, 'client', conn.client, 'ingress', res));
    dataEvents += 4;
  }
  for (const conn of conns) {
    parts.push(connEvent(tick(), conn.clientId, CLIENT, 'client', 'close', conn.client, 'close'));
    parts.push(connEvent(tick(), conn.serverId, SERVER, 'server', 'close', conn.server, 'close'));
  }
  return {
    bytes: Buffer.concat(parts),
    requests: shape.requests,
    expectedExchanges: 2 * shape.requests,
    dataEvents,
    durationUs: Number(t - t0) / 1000,
  };
}

function connEvent(
  tsNs: bigint,
  connId: bigint,
  who: { pid: number; comm: string },
  role: Role,
  syscall: string,
  socket: SocketTuple,
  kind: 'open' | 'close',
): Buffer {
  return encode.conn({ tsNs, connId, cgroupId: 1n, pid: who.pid, tid: who.pid, fd: 7, kind, role, syscall, socket, bytesSent: 0n, bytesRecv: 0n, comm: who.comm });
}

function dataEvent(
  tsExitNs: bigint,
  conn: Conn,
  connId: bigint,
  who: { pid: number; comm: string },
  role: Role,
  socket: SocketTuple,
  direction: Direction,
  payload: Buffer,
): Buffer {
  const key = `${connId}|${direction}`;
  const streamPos = conn.pos.get(key) ?? 0n;
  conn.pos.set(key, streamPos + BigInt(payload.length));
  return encode.data({
    tsEnterNs: tsExitNs - 5_000n,
    tsExitNs,
    connId,
    cgroupId: 1n,
    streamPos,
    bytes: payload.length,
    pid: who.pid,
    tid: who.pid,
    fd: 7,
    direction,
    role,
    syscall: direction === 'egress' ? 'write' : 'read',
    truncated: false,
    socket,
    comm: who.comm,
    payload,
  });
}
