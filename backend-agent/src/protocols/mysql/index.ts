/** MySQL/MariaDB client/server protocol as an observer sees it. Pure computation, no I/O. */
export { MysqlConnection, looksLikeGreeting, type MysqlConnectionOptions, type MysqlCounters } from './connection.js';
export { MysqlSession, detectMysql, detectMysqlOnPort, mysqlDetector } from './session.js';
export * from './packets.js';
