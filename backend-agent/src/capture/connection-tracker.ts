/**
 * Tracks every TCP connection the loader reports and hands its bytes to the
 * parser of the protocol it speaks. Connections whose bytes never look like a
 * protocol we parse are switched off after a bounded look, so TLS, database
 * or binary traffic costs one map lookup per event, not a parse.
 */
import type { ConnEvent, DataEvent, Direction, Role, SocketTuple } from '../model/events.js';
import type { ObservedExchange } from '../model/exchange.js';
import { SocketIndex } from './socket-index.js';

/** A protocol parser bound to one connection. */
export interface ProtocolSession {
  onData(ev: DataEvent): void;
  onClose(tsNs: bigint): void;
  /** Gives up on requests older than maxAgeNs (their response was lost). */
  flush(nowNs: bigint, maxAgeNs: bigint): void;
  /** Completed exchanges since the last call (a shared empty array when none: the tracker asks after every event). */
  drain(): readonly ObservedExchange[];
  /** Bytes the parser could not make sense of, and stream gaps it resynchronised over. */
  readonly parseErrors: number;
  readonly gaps: number;
}

export type DetectedKind = 'request' | 'response';

export interface ProtocolDetector {
  name: string;
  /**
   * Which way the payload flows: a request or a response; undefined if not
   * this protocol. Called with the first bytes of either direction, so a
   * protocol whose server speaks first (MySQL's greeting) answers 'response'.
   */
  detect(payload: Buffer): DetectedKind | undefined;
  /**
   * Well-known server ports: the fallback for connections joined mid-stream
   * (opened before capture started), whose first bytes we see are an
   * ordinary message rather than a protocol's distinctive opening.
   */
  ports?: readonly number[];
  /**
   * A looser check used only on those ports, after every detector's strict
   * check has declined; `direction` is how the payload flowed.
   */
  detectOnPort?(payload: Buffer, direction: Direction): DetectedKind | undefined;
  open(connection: TrackedConnection): ProtocolSession;
}

export interface TrackedConnection {
  connId: bigint;
  pid: number;
  comm: string;
  cgroupId: bigint;
  role: Role;
  socket: SocketTuple;
  lastSeenNs: bigint;
  /** Undecided until a detector recognises the bytes; 'other' once we gave up. */
  protocol: string | undefined;
  session: ProtocolSession | undefined;
  eventsBeforeDetection: number;
  /** 'tls' once TLS plaintext (OpenSSL probes) arrived: from then on only that is parsed. */
  captureSource?: 'syscall' | 'tls';
}

/** How many data events we look at before deciding a connection is not ours. */
const DETECTION_BUDGET = 8;
/** Connections silent this long are forgotten (their close was lost). */
const IDLE_NS = 600_000_000_000n;
/** A request with no response after this long is reported without one. */
const RESPONSE_TIMEOUT_NS = 120_000_000_000n;
/**
 * Connections tracked at once. Lost close events would otherwise keep
 * connections for IDLE_NS: under a burst with kernel drops that is unbounded
 * memory. Beyond it, the least recently active are forgotten, counted in
 * evictedConnections; an evicted connection that is still alive loses what
 * its parser held (a message in progress) and is tracked again, joined
 * mid-stream, at its next event. An idle keep-alive HTTP/1 connection costs
 * about 1.7 KB of heap (bench/memory-heap.ts), so 10,000 connections with
 * both ends on this host (20,000 sockets) fit without evicting live ones and
 * idle state stays near 55 MiB. Not higher: bytes held per connection have
 * their own bounds in the parsers (a head, an undetected prefix: 64 KiB each),
 * so the cap also bounds what a peer holding every tracked connection with an
 * unfinished head can make the parsers hold (docs/SECURITY.md).
 */
export const DEFAULT_MAX_CONNECTIONS = 32_768;
/** Share of the cap forgotten at once, so the sort by activity runs rarely. */
const EVICT_FRACTION = 8;

export class ConnectionTracker {
  private readonly conns = new Map<bigint, TrackedConnection>();
  readonly sockets = new SocketIndex();
  private readonly completed: ObservedExchange[] = [];
  private retired = { parseErrors: new Map<string, number>(), gaps: 0 };
  skippedConnections = 0;
  /** Connections forgotten because the cap was reached (their pending requests were reported without response). */
  evictedConnections = 0;

  constructor(
    private readonly detectors: ProtocolDetector[],
    private readonly maxConnections = DEFAULT_MAX_CONNECTIONS,
  ) {}

  onConn(ev: ConnEvent): void {
    if (ev.kind === 'open') {
      this.create(ev.connId, ev.pid, ev.comm, ev.cgroupId, ev.role, ev.socket, ev.tsNs);
      return;
    }
    const conn = this.conns.get(ev.connId);
    if (!conn) return;
    conn.session?.onClose(ev.tsNs);
    this.retire(conn, ev.tsNs);
  }

  /** Whether this connection is already tracked (its process was named when it was first seen). */
  has(connId: bigint): boolean {
    return this.conns.has(connId);
  }

  onData(ev: DataEvent): void {
    let conn = this.conns.get(ev.connId);
    if (!conn) {
      // Connection opened before capture started, or its open event was lost.
      conn = this.create(ev.connId, ev.pid, ev.comm, ev.cgroupId, ev.role, ev.socket, ev.tsExitNs);
    }
    conn.lastSeenNs = ev.tsExitNs;
    if (ev.captureSource === 'tls') {
      if (conn.captureSource !== 'tls') this.switchToTls(conn, ev.tsEnterNs);
    } else if (conn.captureSource === 'tls') {
      // Ciphertext of a connection whose plaintext the TLS probes report (the handshake, say).
      return;
    }
    if (conn.protocol === 'other') return;
    if (!conn.session) {
      if (!this.detect(conn, ev)) return;
    }
    conn.session?.onData(ev);
    this.collect(conn);
  }

  /**
   * The first plaintext of a TLS connection: whatever its ciphertext made the
   * detector decide (usually 'other' after the handshake) is forgotten, and
   * detection starts over on the plaintext, under the same connection id.
   */
  private switchToTls(conn: TrackedConnection, tsNs: bigint): void {
    // A session started on the syscall bytes (a request before STARTTLS, say)
    // ends here: what it had pending is reported, its counters are kept.
    if (conn.session) {
      conn.session.onClose(tsNs);
      this.collect(conn);
      this.retireCounters(conn);
    }
    conn.captureSource = 'tls';
    if (conn.protocol === 'other') this.skippedConnections--;
    conn.protocol = undefined;
    conn.session = undefined;
    conn.eventsBeforeDetection = 0;
  }

  private detect(conn: TrackedConnection, ev: DataEvent): boolean {
    for (const d of this.detectors) {
      const kind = d.detect(ev.payload);
      if (kind) return this.start(conn, ev, d, kind);
    }
    // Only once no protocol's own signature matched: a port guess never
    // overrides what the bytes say.
    for (const d of this.detectors) {
      if (!d.detectOnPort || !d.ports) continue;
      if (!d.ports.includes(conn.socket.local.port) && !d.ports.includes(conn.socket.remote.port)) continue;
      const kind = d.detectOnPort(ev.payload, ev.direction);
      if (kind) return this.start(conn, ev, d, kind);
    }
    if (++conn.eventsBeforeDetection >= DETECTION_BUDGET) {
      conn.protocol = 'other';
      this.skippedConnections++;
    }
    return false;
  }

  private start(conn: TrackedConnection, ev: DataEvent, d: ProtocolDetector, kind: DetectedKind): true {
    if (conn.role === 'unknown') {
      // Who sends requests is the client, whichever way we joined the stream.
      const sendsRequest = (kind === 'request') === (ev.direction === 'egress');
      conn.role = sendsRequest ? 'client' : 'server';
    }
    conn.protocol = d.name;
    conn.session = d.open(conn);
    return true;
  }

  private create(
    connId: bigint,
    pid: number,
    comm: string,
    cgroupId: bigint,
    role: Role,
    socket: SocketTuple,
    tsNs: bigint,
  ): TrackedConnection {
    const existing = this.conns.get(connId);
    if (existing) return existing;
    if (this.conns.size >= this.maxConnections) this.evictLeastRecent(tsNs);
    // Every field from the start (captureSource too): one object shape for all, no property store added later.
    const conn: TrackedConnection = {
      connId,
      pid,
      comm,
      cgroupId,
      role,
      socket,
      lastSeenNs: tsNs,
      protocol: undefined,
      session: undefined,
      eventsBeforeDetection: 0,
      captureSource: undefined,
    };
    this.conns.set(connId, conn);
    // The record itself is the socket's owner (pid, connId, comm): no second object per socket.
    this.sockets.add(socket, conn);
    return conn;
  }

  private collect(conn: TrackedConnection): void {
    const done = conn.session?.drain();
    if (!done || done.length === 0) return;
    for (const ex of done) {
      // Protocol sessions describe the connection; where its plaintext came from is known here.
      if (conn.captureSource === 'tls') ex.connection.captureSource = 'tls';
      this.completed.push(ex);
    }
  }

  /** Forgets a connection, keeping its counters; its socket lingers in the index for late spans. */
  private retire(conn: TrackedConnection, nowNs: bigint): void {
    this.collect(conn);
    this.sockets.remove(conn.socket, conn.connId, nowNs);
    this.retireCounters(conn);
    this.conns.delete(conn.connId);
    // Whoever still holds the record (an exchange being built) does not keep the parsers alive.
    conn.session = undefined;
  }

  /** Keeps a session's counters in the tracker's totals before the session goes. */
  private retireCounters(conn: TrackedConnection): void {
    if (conn.session && conn.protocol) {
      const prev = this.retired.parseErrors.get(conn.protocol) ?? 0;
      this.retired.parseErrors.set(conn.protocol, prev + conn.session.parseErrors);
      this.retired.gaps += conn.session.gaps;
    }
  }

  /** Forgets the least recently active share of connections, oldest activity first. */
  private evictLeastRecent(nowNs: bigint): void {
    const byActivity = [...this.conns.values()].sort((a, b) => (a.lastSeenNs < b.lastSeenNs ? -1 : a.lastSeenNs > b.lastSeenNs ? 1 : 0));
    const count = Math.max(1, Math.ceil(this.maxConnections / EVICT_FRACTION));
    for (const conn of byActivity.slice(0, count)) {
      conn.session?.onClose(nowNs);
      this.retire(conn, nowNs);
      this.evictedConnections++;
    }
  }

  /** Times out lost responses and forgets idle connections; call about once a second. */
  tick(nowNs: bigint): void {
    for (const conn of this.conns.values()) {
      conn.session?.flush(nowNs, RESPONSE_TIMEOUT_NS);
      this.collect(conn);
      if (nowNs - conn.lastSeenNs > IDLE_NS) this.retire(conn, nowNs);
    }
    this.sockets.expire(nowNs);
  }

  /** On shutdown: every pending request becomes an exchange without response. */
  flushAll(nowNs: bigint): void {
    for (const conn of this.conns.values()) {
      conn.session?.flush(nowNs, 0n);
      this.collect(conn);
    }
  }

  /**
   * A new loader restarts connection ids: end every connection (its pending
   * requests become exchanges without response, collected by the next
   * drain) and forget every socket, since ids and owners no longer match.
   */
  reset(nowNs: bigint): void {
    for (const conn of [...this.conns.values()]) {
      conn.session?.onClose(nowNs);
      this.retire(conn, nowNs);
    }
    this.sockets.clear();
  }

  drain(): ObservedExchange[] {
    return this.completed.splice(0);
  }

  get openConnections(): number {
    return this.conns.size;
  }

  parseErrors(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.retired.parseErrors);
    for (const conn of this.conns.values()) {
      if (conn.session && conn.protocol) out[conn.protocol] = (out[conn.protocol] ?? 0) + conn.session.parseErrors;
    }
    return out;
  }

  gaps(): number {
    let n = this.retired.gaps;
    for (const conn of this.conns.values()) n += conn.session?.gaps ?? 0;
    return n;
  }
}
