/**
 * Test harness for the database/cache protocol modules: a simulated capture
 * of one connection fed through the real ConnectionTracker with every
 * registered detector, so detection, the session and its exchanges are
 * tested together. Also replays recorded fixtures (real bytes relayed
 * between a real client and server, one entry per read).
 */
import fs from 'node:fs';
import { ConnectionTracker } from '../../../backend-agent/src/capture/connection-tracker.js';
import type { DataEvent, Role, SocketTuple } from '../../../backend-agent/src/model/events.js';
import type { ObservedExchange } from '../../../backend-agent/src/model/exchange.js';
import { PROTOCOL_DETECTORS } from '../../../backend-agent/src/protocols/index.js';

export interface SendOptions {
  /** Captured prefix length (default: everything). */
  capture?: number;
  /** Bytes lost before this call (a streamPos jump). */
  gapBefore?: number;
}

export class WireHarness {
  readonly tracker = new ConnectionTracker([...PROTOCOL_DETECTORS]);
  now = 1_000n;
  private readonly pos = { c2s: 0n, s2c: 0n };
  private readonly socket: SocketTuple;
  readonly done: ObservedExchange[] = [];

  /** `observer`: which process the capture belongs to; 'unknown' role when joined without connect/accept. */
  constructor(
    readonly observer: 'client' | 'server',
    readonly serverPort: number,
    private readonly role: Role = observer,
    readonly connId = 1n,
  ) {
    const client = { address: '127.0.0.1', port: 40000 };
    const server = { address: '127.0.0.1', port: serverPort };
    this.socket = observer === 'client' ? { family: 'ipv4', local: client, remote: server } : { family: 'ipv4', local: server, remote: client };
  }

  /** Starts the position of one direction elsewhere than 0 (a connection joined mid-stream). */
  startAt(from: 'client' | 'server', pos: bigint): void {
    this.pos[from === 'client' ? 'c2s' : 's2c'] = pos;
  }

  send(from: 'client' | 'server', data: Buffer | string, options: SendOptions = {}): void {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
    const key = from === 'client' ? 'c2s' : 's2c';
    if (options.gapBefore) this.pos[key] += BigInt(options.gapBefore);
    const egress = (from === 'client') === (this.observer === 'client');
    const ev: DataEvent = {
      type: 'data',
      tsEnterNs: this.now,
      tsExitNs: this.now + 5n,
      connId: this.connId,
      cgroupId: 0n,
      streamPos: this.pos[key],
      bytes: bytes.length,
      pid: 77,
      tid: 78,
      fd: 5,
      direction: egress ? 'egress' : 'ingress',
      role: this.role,
      syscall: egress ? 'write' : 'read',
      truncated: (options.capture ?? bytes.length) < bytes.length,
      socket: this.socket,
      comm: this.observer === 'client' ? 'app' : 'db',
      payload: bytes.subarray(0, options.capture ?? bytes.length),
    };
    this.now += 10n;
    this.pos[key] += BigInt(bytes.length);
    this.tracker.onData(ev);
    this.done.push(...this.tracker.drain());
  }

  close(): void {
    this.tracker.onConn({
      type: 'conn', kind: 'close', tsNs: this.now, connId: this.connId, cgroupId: 0n, pid: 77, tid: 78, fd: 5, role: this.role,
      syscall: 'close', socket: this.socket, bytesSent: 0n, bytesRecv: 0n, comm: 'x',
    });
    this.done.push(...this.tracker.drain());
  }

  tick(nowNs: bigint): void {
    this.tracker.tick(nowNs);
    this.done.push(...this.tracker.drain());
  }

  /** Exchanges so far, reduced to what a database span shows. */
  summary(): DbSummary[] {
    return this.done.map(summarize);
  }
}

export interface DbSummary {
  op: string;
  text?: string;
  ns?: string;
  rows?: number;
  error?: string;
  replied: boolean;
}

export function summarize(ex: ObservedExchange): DbSummary {
  const s: DbSummary = { op: ex.db?.operation ?? ex.request.method, replied: ex.response !== undefined };
  if (ex.db?.queryText !== undefined) s.text = ex.db.queryText;
  if (ex.db?.namespace !== undefined) s.ns = ex.db.namespace;
  if (ex.db?.rows !== undefined) s.rows = ex.db.rows;
  if (ex.db?.errorCode !== undefined) s.error = ex.db.errorCode;
  return s;
}

export interface FixtureChunk {
  dir: 'c2s' | 's2c';
  data: Buffer;
}

/** A recorded fixture: connections, each a list of reads in the order the relay saw them. */
export function loadFixture(file: URL): FixtureChunk[][] {
  const raw = JSON.parse(fs.readFileSync(file, 'utf8')) as { connections: Array<{ chunks: Array<{ dir: 'c2s' | 's2c'; data: string }> }> };
  return raw.connections.map((c) => c.chunks.map((k) => ({ dir: k.dir, data: Buffer.from(k.data, 'base64') })));
}

/**
 * Replays one recorded connection as seen by `observer`, each read cut into
 * pieces of `piece` bytes (0: whole). The first read stays whole: protocols
 * are detected from a connection's first call, which in practice holds the
 * whole opening message.
 */
export function replay(chunks: FixtureChunk[], observer: 'client' | 'server', serverPort: number, piece = 0, connId = 1n): WireHarness {
  const h = new WireHarness(observer, serverPort, observer, connId);
  for (const [i, c] of chunks.entries()) {
    const from = c.dir === 'c2s' ? 'client' : 'server';
    if (piece <= 0 || i === 0) h.send(from, c.data);
    else for (let at = 0; at < c.data.length; at += piece) h.send(from, c.data.subarray(at, at + piece));
  }
  h.close();
  return h;
}
