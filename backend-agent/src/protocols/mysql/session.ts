/**
 * MySQL/MariaDB as the connection tracker sees it: a detector for the
 * server's greeting (the server speaks first; or, on port 3306, a client
 * COM_QUERY: connections joined mid-stream) and a session that turns
 * MysqlConnection's commands into ObservedExchange.
 */
import type { ProtocolDetector, TrackedConnection } from '../../capture/connection-tracker.js';
import type { Direction } from '../../model/events.js';
import { DbSession } from '../common/db-session.js';
import { MysqlConnection, looksLikeGreeting } from './connection.js';
import { payloadLength } from './packets.js';

export class MysqlSession extends DbSession {
  constructor(tracked: TrackedConnection) {
    super('mysql', tracked, (options) => new MysqlConnection(options));
  }
}

/** The server's greeting opens every MySQL connection seen from its start: a 'response'. */
export function detectMysql(payload: Buffer): 'response' | undefined {
  return looksLikeGreeting(payload) ? 'response' : undefined;
}

/** Mid-stream on the MySQL port: a COM_QUERY whose length matches the call and whose text starts with a letter. */
export function detectMysqlOnPort(p: Buffer, _direction: Direction): 'request' | undefined {
  if (p.length < 6 || p[3] !== 0 || p[4] !== 0x03) return undefined;
  const len = payloadLength(p);
  if (len < 2 || len + 4 < p.length) return undefined;
  const c = (p[5] as number) | 0x20;
  return (c >= 0x61 && c <= 0x7a) || p[5] === 0x28 || p[5] === 0x20 ? 'request' : undefined;
}

export const mysqlDetector: ProtocolDetector = {
  name: 'mysql',
  detect: detectMysql,
  ports: [3306],
  detectOnPort: detectMysqlOnPort,
  open: (connection: TrackedConnection) => new MysqlSession(connection),
};
