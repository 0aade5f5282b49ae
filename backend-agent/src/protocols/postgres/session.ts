/**
 * PostgreSQL as the connection tracker sees it (capture/connection-tracker.ts):
 * a detector for a start-up packet (or, on port 5432, any well-formed
 * message: connections opened before capture started) and a session that
 * turns PgConnection's commands into ObservedExchange.
 */
import type { ProtocolDetector, TrackedConnection } from '../../capture/connection-tracker.js';
import type { Direction } from '../../model/events.js';
import { DbSession } from '../common/db-session.js';
import { PgConnection } from './connection.js';
import { BACKEND_TYPES, FRONTEND_TYPES, looksLikeMessage, looksLikeStartup } from './messages.js';

export class PgSession extends DbSession {
  constructor(tracked: TrackedConnection) {
    super('postgresql', tracked, (options) => new PgConnection(options));
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
