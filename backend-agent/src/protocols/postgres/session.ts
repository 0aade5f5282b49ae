/**
 * PostgreSQL as the connection tracker sees it (capture/connection-tracker.ts):
 * a detector for a start-up packet (or, on port 5432, any well-formed
 * message: connections opened before capture started) and a session that
 * turns PgConnection's commands into ObservedExchange.
 */
import type { ProtocolDetector, ProtocolSession, TrackedConnection } from '../../capture/connection-tracker.js';
import type { DataEvent, Direction } from '../../model/events.js';
import type { ObservedConnection, ObservedExchange } from '../../model/exchange.js';
import { observedConnection, toObservedExchange } from '../common/db-exchange.js';
import { PgConnection } from './connection.js';
import { BACKEND_TYPES, FRONTEND_TYPES, looksLikeMessage, looksLikeStartup } from './messages.js';

export class PgSession implements ProtocolSession {
  private readonly connection: PgConnection;
  private completed: ObservedExchange[] = [];
  private observed: ObservedConnection | undefined;
  private index = 0;

  constructor(private readonly tracked: TrackedConnection) {
    this.connection = new PgConnection({
      role: tracked.role,
      onCommand: (cmd) => {
        this.observed ??= observedConnection(this.tracked);
        this.completed.push(toObservedExchange('postgresql', this.observed, this.index++, cmd, this.tracked.pid));
      },
    });
  }

  onData(ev: DataEvent): void {
    this.connection.onData(ev);
  }

  onClose(_tsNs: bigint): void {
    this.connection.onClose();
  }

  flush(nowNs: bigint, maxAgeNs: bigint): void {
    this.connection.flush(nowNs, maxAgeNs);
  }

  drain(): ObservedExchange[] {
    const out = this.completed;
    this.completed = [];
    return out;
  }

  get parseErrors(): number {
    const c = this.connection.counters();
    return c.skippedBytes + c.internalErrors;
  }

  get gaps(): number {
    return this.connection.counters().gaps;
  }
}

/** A start-up or SSL request opens every PostgreSQL connection we see from its start. */
export function detectPostgres(payload: Buffer): 'request' | undefined {
  return looksLikeStartup(payload) ? 'request' : undefined;
}

/** Mid-stream on the PostgreSQL port: a Query or Parse from the client, or a server message. */
export function detectPostgresOnPort(payload: Buffer, _direction: Direction): 'request' | 'response' | undefined {
  if (payload.length > 0 && (payload[0] === 0x51 || payload[0] === 0x50) && looksLikeMessage(payload, FRONTEND_TYPES)) return 'request';
  if (payload.length > 0 && payload[0] !== 0x51 && payload[0] !== 0x50 && looksLikeMessage(payload, BACKEND_TYPES)) return 'response';
  return undefined;
}

export const postgresDetector: ProtocolDetector = {
  name: 'postgresql',
  detect: detectPostgres,
  ports: [5432],
  detectOnPort: detectPostgresOnPort,
  open: (connection: TrackedConnection) => new PgSession(connection),
};
