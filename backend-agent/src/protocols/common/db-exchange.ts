/**
 * The shape database and cache protocols hand to spans/: one command and its
 * reply as an ObservedExchange carrying a DbCall (model/exchange.ts says how
 * non-HTTP protocols fill the request/response fields).
 */
import type { TrackedConnection } from '../../capture/connection-tracker.js';
import type { DbCall, ObservedConnection, ObservedExchange, ProtocolName } from '../../model/exchange.js';

/** One command as the parser saw it travel. */
export interface DbCommand {
  db: DbCall;
  requestBytes: number;
  requestStartNs: bigint;
  requestEndNs: bigint;
  requestTid: number | undefined;
  response?: {
    /** Bytes of the reply on the wire. */
    bytes: number;
    startNs: bigint;
    endNs: bigint;
    tid: number | undefined;
  };
  truncated: boolean;
  incompleteReason?: string;
}

export const INCOMPLETE = {
  closed: 'connection closed before a response',
  timeout: 'no response (timed out)',
  lost: 'response lost (stream gap)',
} as const;

export function observedConnection(t: TrackedConnection): ObservedConnection {
  // The tracker resolves an unknown role when it detects the protocol; 'client' is the fallback.
  const role = t.role === 'server' ? 'server' : 'client';
  return { connId: t.connId, pid: t.pid, comm: t.comm, cgroupId: t.cgroupId, role, socket: t.socket };
}

export function toObservedExchange(
  protocol: ProtocolName,
  connection: ObservedConnection,
  index: number,
  cmd: DbCommand,
  pid: number,
): ObservedExchange {
  const text = cmd.db.queryText ?? '';
  const ex: ObservedExchange = {
    protocol,
    db: cmd.db,
    connection,
    index,
    request: {
      method: cmd.db.operation,
      target: text,
      path: text,
      query: '',
      version: '',
      headers: [],
      headerBytes: cmd.requestBytes,
      bodyBytes: 0,
      // The main thread's id is the pid: the best guess when the calls carried none.
      tid: cmd.requestTid ?? pid,
      startNs: cmd.requestStartNs,
      endNs: cmd.requestEndNs,
    },
    truncated: cmd.truncated,
  };
  const r = cmd.response;
  if (r) {
    ex.response = {
      statusCode: cmd.db.errorCode ? 1 : 0,
      reason: cmd.db.errorCode ?? '',
      version: '',
      headers: [],
      headerBytes: r.bytes,
      bodyBytes: 0,
      tid: r.tid ?? pid,
      startNs: r.startNs,
      endNs: r.endNs,
    };
  } else {
    ex.incompleteReason = cmd.incompleteReason ?? INCOMPLETE.closed;
  }
  return ex;
}

/** Bounded, printable text from protocol bytes (names, codes, messages). */
export function printable(buf: Buffer, max: number): string {
  const s = buf.subarray(0, max * 4).toString('utf8');
  // Control characters could break logs and UIs downstream.
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f\ufffd]/g, '').slice(0, max);
}
