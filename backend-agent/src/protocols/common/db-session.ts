/**
 * The session every database protocol hands the connection tracker
 * (capture/connection-tracker.ts): it feeds a protocol's connection parser
 * and turns each command it reports into an ObservedExchange. What differs
 * between PostgreSQL, MySQL and Redis is the parser, so that is all a
 * protocol passes in.
 */
import type { ProtocolSession, TrackedConnection } from '../../capture/connection-tracker.js';
import type { DataEvent, Role } from '../../model/events.js';
import type { DbCall, ObservedConnection, ObservedExchange } from '../../model/exchange.js';
import { observedConnection, toObservedExchange, type DbCommand } from './db-exchange.js';

/** What a database connection parser offers its session. */
export interface DbConnectionParser {
  onData(ev: DataEvent): void;
  onClose(): void;
  flush(nowNs: bigint, maxAgeNs: bigint): void;
  counters(): { gaps: number; skippedBytes: number; internalErrors: number };
}

export type DbParserFactory = (options: { role: Role; onCommand: (cmd: DbCommand) => void }) => DbConnectionParser;

const NONE: readonly ObservedExchange[] = Object.freeze([]);

export class DbSession implements ProtocolSession {
  private readonly connection: DbConnectionParser;
  private completed: ObservedExchange[] = [];
  private observed: ObservedConnection | undefined;
  private index = 0;

  constructor(
    system: DbCall['system'],
    private readonly tracked: TrackedConnection,
    parser: DbParserFactory,
  ) {
    this.connection = parser({
      role: tracked.role,
      onCommand: (cmd) => {
        this.observed ??= observedConnection(this.tracked);
        this.completed.push(toObservedExchange(system, this.observed, this.index++, cmd, this.tracked.pid));
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

  drain(): readonly ObservedExchange[] {
    if (this.completed.length === 0) return NONE;
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
