/** PostgreSQL wire protocol v3 as an observer sees it. Pure computation, no I/O. */
export { PgConnection, type PgConnectionOptions, type PgCounters } from './connection.js';
export { PgSession, detectPostgres, detectPostgresOnPort, postgresDetector } from './session.js';
export * from './messages.js';
