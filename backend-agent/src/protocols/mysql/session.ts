/**
 * MySQL/MariaDB as the connection tracker sees it: a detector for the
 * server's greeting (the server speaks first; or, on port 3306, a client
 * COM_QUERY: connections joined mid-stream) and a session that turns
 * MysqlConnection's commands into ObservedExchange.
 */
import type { ProtocolDetector, ProtocolSession, TrackedConnection } from '../../capture/connection-tracker.js';
import type { DataEvent, Direction } from '../../model/events.js';
import type { ObservedConnection, ObservedExchange } from '../../model/exchange.js';
import { observedConnection, toObservedExchange } from '../common/db-exchange.js';
import { MysqlConnection, looksLikeGreeting } from './connection.js';
import { payloadLength } from './packets.js';

export class MysqlSession implements ProtocolSession {
  private readonly connection: MysqlConnection;
  private completed: ObservedExchange[] = [];
  private observed: ObservedConnection | undefined;
  private index = 0;

  constructor(private readonly tracked: TrackedConnection) {
    this.connection = new MysqlConnection({
      role: tracked.role,
      onCommand: (cmd) => {
        this.observed ??= observedConnection(this.tracked);
        this.completed.push(toObservedExchange('mysql', this.observed, this.index++, cmd, this.tracked.pid));
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
