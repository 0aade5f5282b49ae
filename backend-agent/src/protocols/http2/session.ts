/**
 * HTTP/2 (and gRPC over it) as the connection tracker sees it
 * (capture/connection-tracker.ts): a detector for the first bytes, and a
 * session per connection that turns Http2Exchange into the protocol-neutral
 * ObservedExchange (model/exchange.ts). Plaintext from TLS probes
 * (captureSource 'tls', h2 negotiated by ALPN) starts with the same preface
 * and goes through the same code.
 */
import type { ProtocolDetector, ProtocolSession, TrackedConnection } from '../../capture/connection-tracker.js';
import type { DataEvent } from '../../model/events.js';
import type { ObservedConnection, ObservedExchange, ObservedRequest, ObservedResponse } from '../../model/exchange.js';
import { errorCodeName } from './constants.js';
import { Http2Connection } from './connection.js';
import { looksLikeHttp2 } from './detect.js';
import { grpcCall, headerValue, isGrpc } from './grpc.js';
import type { Http2Counters, Http2Exchange, Http2Message, Http2Response, MissingResponseReason } from './types.js';

/** RFC 9110's token for a method we could not learn (its header field was not decodable). */
const UNKNOWN_METHOD = '_OTHER';

const INCOMPLETE_REASONS: Record<MissingResponseReason, string> = {
  closed: 'connection closed before the response ended',
  timeout: 'no response (timed out)',
  reset: 'stream reset',
  goaway: 'refused by GOAWAY (never processed)',
  evicted: 'too many open streams on the connection',
};

export class Http2Session implements ProtocolSession {
  private readonly connection: Http2Connection;
  private completed: ObservedExchange[] = [];
  private captureSource: 'syscall' | 'tls' | undefined;
  private readonly role: 'client' | 'server';

  constructor(private readonly tracked: TrackedConnection) {
    // The tracker resolves an unknown role from the detected bytes before opening a session.
    this.role = tracked.role === 'server' ? 'server' : 'client';
    this.connection = new Http2Connection({ role: this.role, onExchange: (ex) => this.completed.push(this.toObserved(ex)) });
  }

  onData(ev: DataEvent): void {
    this.captureSource ??= captureSourceOf(ev);
    this.connection.onData(ev);
  }

  onClose(tsNs: bigint): void {
    this.connection.onClose(tsNs);
  }

  flush(nowNs: bigint, maxAgeNs: bigint): void {
    this.connection.flush(nowNs, maxAgeNs);
  }

  drain(): ObservedExchange[] {
    const out = this.completed;
    this.completed = [];
    return out;
  }

  /** Malformed frames and undecodable header blocks. */
  get parseErrors(): number {
    const c = this.connection.snapshot();
    return c.malformedFrames + c.hpackErrors;
  }

  get gaps(): number {
    return this.connection.snapshot().gaps;
  }

  counters(): Http2Counters {
    return this.connection.snapshot();
  }

  private toObserved(ex: Http2Exchange): ObservedExchange {
    const grpc = isGrpc(ex);
    const rpc = grpc ? grpcCall(ex) : undefined;
    const observed: ObservedExchange = {
      protocol: grpc ? 'grpc' : 'http2',
      streamId: ex.streamId,
      connection: this.connectionInfo(),
      index: ex.index,
      request: this.toRequest(ex.request),
      truncated: ex.truncated,
    };
    if (rpc) observed.rpc = rpc;
    if (ex.response) observed.response = this.toResponse(ex.response);
    if (ex.incomplete) {
      observed.incompleteReason =
        ex.incomplete === 'reset' && ex.reset
          ? `stream reset by ${ex.reset.by} (${errorCodeName(ex.reset.code)})`
          : INCOMPLETE_REASONS[ex.incomplete];
    }
    return observed;
  }

  private connectionInfo(): ObservedConnection {
    const t = this.tracked;
    const info: ObservedConnection = { connId: t.connId, pid: t.pid, comm: t.comm, cgroupId: t.cgroupId, role: this.role, socket: t.socket };
    if (this.captureSource) info.captureSource = this.captureSource;
    return info;
  }

  private toRequest(m: Http2Message): ObservedRequest {
    const method = headerValue(m.headers, ':method') ?? UNKNOWN_METHOD;
    // CONNECT has no :path; its target is the authority (RFC 9113 8.5).
    const target = headerValue(m.headers, ':path') ?? (method === 'CONNECT' ? (headerValue(m.headers, ':authority') ?? '') : '');
    const q = target.indexOf('?');
    return {
      method,
      target,
      path: q >= 0 ? target.slice(0, q) : target,
      query: q >= 0 ? target.slice(q + 1) : '',
      version: '2',
      headers: m.headers,
      headerBytes: m.headerBytes,
      bodyBytes: m.bodyBytes,
      tid: m.tid ?? this.tracked.pid,
      startNs: m.firstByteNs,
      endNs: m.lastByteNs,
    };
  }

  private toResponse(r: Http2Response): ObservedResponse {
    return {
      // 0 when :status could not be decoded (desynchronised header table).
      statusCode: r.status ?? 0,
      reason: '',
      version: '2',
      headers: r.headers,
      headerBytes: r.headerBytes,
      bodyBytes: r.bodyBytes,
      tid: r.tid ?? this.tracked.pid,
      startNs: r.firstByteNs,
      endNs: r.lastByteNs,
    };
  }
}

/** TLS probes mark their plaintext events; syscall events carry no mark. */
function captureSourceOf(ev: DataEvent): 'syscall' | 'tls' {
  return 'captureSource' in ev && ev.captureSource === 'tls' ? 'tls' : 'syscall';
}

export const http2Detector: ProtocolDetector = {
  name: 'http2',
  detect: (payload: Buffer) => looksLikeHttp2(payload),
  open: (connection: TrackedConnection) => new Http2Session(connection),
};
