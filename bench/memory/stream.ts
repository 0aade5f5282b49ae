/**
 * The loader records of bench/memory.ts's keep-alive connections, shared by
 * the real-agent run (memory.ts) and the in-process heap breakdown
 * (memory-heap.ts) so both measure the same traffic: connection i has a
 * client socket (connId 2i+1) and a server socket (2i+2); each round is one
 * small GET and its 2-byte JSON response.
 */
import { encode } from '../../backend-agent/src/capture/framing.js';
import type { Direction, Role, SocketTuple } from '../../backend-agent/src/model/events.js';

export interface Endpoint {
  pid: number;
  comm: string;
}

export interface BenchConnection {
  c: bigint;
  s: bigint;
  cs: SocketTuple;
  ss: SocketTuple;
}

export const REQUEST = Buffer.from('GET /api/items/1 HTTP/1.1\r\nHost: memserver\r\nUser-Agent: bench\r\nAccept: */*\r\n\r\n');
export const RESPONSE = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}');

export function benchConnection(i: number): BenchConnection {
  const cs: SocketTuple = { family: 'ipv4', local: { address: `10.2.${(i >> 8) & 255}.${i & 255}`, port: 20000 + (i % 40000) }, remote: { address: '10.9.0.1', port: 8080 } };
  const ss: SocketTuple = { family: 'ipv4', local: cs.remote, remote: cs.local };
  return { c: BigInt(2 * i + 1), s: BigInt(2 * i + 2), cs, ss };
}

export function connEv(tsNs: bigint, connId: bigint, who: Endpoint, role: Role, syscall: string, socket: SocketTuple): Buffer {
  return encode.conn({ tsNs, connId, cgroupId: 1n, pid: who.pid, tid: who.pid, fd: 7, kind: 'open', role, syscall, socket, bytesSent: 0n, bytesRecv: 0n, comm: who.comm });
}

/** A DATA record; `pos` tracks each direction's stream position (key connId for egress, -connId for ingress). */
export function dataEv(tsExitNs: bigint, pos: Map<bigint, bigint>, connId: bigint, who: Endpoint, role: Role, socket: SocketTuple, direction: Direction, payload: Buffer): Buffer {
  const key = direction === 'egress' ? connId : -connId;
  const streamPos = pos.get(key) ?? 0n;
  pos.set(key, streamPos + BigInt(payload.length));
  return encode.data({
    tsEnterNs: tsExitNs - 5_000n, tsExitNs, connId, cgroupId: 1n, streamPos, bytes: payload.length, pid: who.pid, tid: who.pid, fd: 7,
    direction, role, syscall: direction === 'egress' ? 'write' : 'read', truncated: false, socket, comm: who.comm, payload,
  });
}

/** One round on one connection: request and response as seen from the sides on this host. */
export function roundEvents(t: bigint, pos: Map<bigint, bigint>, conn: BenchConnection, sides: number, client: Endpoint, server: Endpoint): Buffer[] {
  const out: Buffer[] = [];
  if (sides === 2) out.push(dataEv(t, pos, conn.c, client, 'client', conn.cs, 'egress', REQUEST));
  out.push(dataEv(t + 10_000n, pos, conn.s, server, 'server', conn.ss, 'ingress', REQUEST), dataEv(t + 60_000n, pos, conn.s, server, 'server', conn.ss, 'egress', RESPONSE));
  if (sides === 2) out.push(dataEv(t + 70_000n, pos, conn.c, client, 'client', conn.cs, 'ingress', RESPONSE));
  return out;
}

/** The connects/accepts of one connection. */
export function openEvents(t: bigint, conn: BenchConnection, sides: number, client: Endpoint, server: Endpoint): Buffer[] {
  const out: Buffer[] = [];
  if (sides === 2) out.push(connEv(t, conn.c, client, 'client', 'connect', conn.cs));
  out.push(connEv(t, conn.s, server, 'server', 'accept4', conn.ss));
  return out;
}
