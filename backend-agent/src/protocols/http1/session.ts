/**
 * The HTTP/1 protocol as the connection tracker sees it
 * (capture/connection-tracker.ts): a detector for the first bytes, and a
 * session per connection that turns Http1Exchange into the protocol-neutral
 * ObservedExchange (model/exchange.ts) the span builder takes.
 */
import type { ProtocolDetector, ProtocolSession, TrackedConnection } from '../../capture/connection-tracker.js';
import type { DataEvent, Role } from '../../model/events.js';
import type { ObservedConnection, ObservedExchange, ObservedRequest, ObservedResponse } from '../../model/exchange.js';
import { Http1Connection, type Http1ConnectionOptions } from './connection.js';
import { looksLikeHttp1 } from './detect.js';
import type { Http1Exchange, Http1Request, Http1Response, MissingResponseReason } from './types.js';

const INCOMPLETE_REASONS: Record<MissingResponseReason, string> = {
  closed: 'connection closed before a response',
  timeout: 'no response (timed out)',
  lost: 'response lost (stream gap)',
};

const NONE: readonly ObservedExchange[] = Object.freeze([]);

/** Also the connection's options (role, onExchange): no closure per connection. */
export class Http1Session implements ProtocolSession, Http1ConnectionOptions {
  private readonly connection: Http1Connection;
  /** Exchanges not yet drained; none most of the time, so no array then. */
  private completed: ObservedExchange[] | undefined;
  private observedConnection: ObservedConnection | undefined;

  constructor(private readonly tracked: TrackedConnection) {
    this.connection = new Http1Connection(this);
  }

  /** The tracker's view of the role, read once by the connection at construction. */
  get role(): Role {
    return this.tracked.role;
  }

  onExchange(exchange: Http1Exchange): void {
    (this.completed ??= []).push(this.toObserved(exchange));
  }

  onData(ev: DataEvent): void {
    this.connection.onData(ev);
  }

  onClose(tsNs: bigint): void {
    this.connection.onClose(tsNs);
  }

  flush(nowNs: bigint, maxAgeNs: bigint): void {
    this.connection.flush(nowNs, maxAgeNs);
  }

  drain(): readonly ObservedExchange[] {
    const out = this.completed;
    if (!out) return NONE;
    this.completed = undefined;
    return out;
  }

  get parseErrors(): number {
    return this.connection.parseErrorBytes;
  }

  get gaps(): number {
    return this.connection.gaps;
  }

  private toObserved(exchange: Http1Exchange): ObservedExchange {
    const observed: ObservedExchange = {
      protocol: 'http1',
      connection: this.connectionInfo(),
      index: exchange.index,
      request: this.toObservedRequest(exchange.request),
      truncated: exchange.truncated,
    };
    if (exchange.response) observed.response = this.toObservedResponse(exchange.response);
    else if (exchange.missingResponseReason) observed.incompleteReason = INCOMPLETE_REASONS[exchange.missingResponseReason];
    return observed;
  }

  private connectionInfo(): ObservedConnection {
    if (!this.observedConnection) {
      const t = this.tracked;
      // An exchange exists only once the role is known; 'client' is never reached as a fallback in practice.
      const role = this.connection.role === 'server' ? 'server' : 'client';
      this.observedConnection = { connId: t.connId, pid: t.pid, comm: t.comm, cgroupId: t.cgroupId, role, socket: t.socket };
    }
    return this.observedConnection;
  }

  private toObservedRequest(r: Http1Request): ObservedRequest {
    return {
      method: r.method,
      target: r.target,
      path: r.path,
      query: r.query,
      version: r.version,
      headers: r.headers,
      headerBytes: r.headerBytes,
      bodyBytes: r.bodyBytes,
      // The main thread's id is the pid: the best guess when the calls carried none.
      tid: r.tid ?? this.tracked.pid,
      startNs: r.firstByteNs,
      endNs: r.lastByteNs,
    };
  }

  private toObservedResponse(r: Http1Response): ObservedResponse {
    return {
      statusCode: r.statusCode,
      reason: r.reason,
      version: r.version,
      headers: r.headers,
      // Interim responses (100 Continue...) are response bytes too; the span counts header + body.
      headerBytes: r.interimBytes + r.headerBytes,
      bodyBytes: r.bodyBytes,
      tid: r.tid ?? this.tracked.pid,
      startNs: r.firstByteNs,
      endNs: r.lastByteNs,
    };
  }
}

export const http1Detector: ProtocolDetector = {
  name: 'http1',
  detect: (payload: Buffer) => looksLikeHttp1(payload),
  open: (connection: TrackedConnection) => new Http1Session(connection),
};
