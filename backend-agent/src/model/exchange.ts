/**
 * One request/response exchange as a protocol parser saw it on one side of a
 * connection: the hand-off from protocols/ to spans/. Every protocol module
 * (protocols/<name>/) produces this shape; what only some protocols have
 * (an RPC's service and status, a database statement) rides in `rpc` or `db`,
 * and spans/semantics/ turns each into OpenTelemetry attributes.
 *
 * Non-HTTP protocols fill the request/response fields this way: `method` is
 * the operation (`SELECT`, `GET`), `target` and `path` the statement or key
 * pattern as shown (already shortened), `headers` empty, `statusCode` 0 for
 * success and non-zero for an error response.
 */
import type { SocketTuple } from './events.js';

export type HeaderList = ReadonlyArray<readonly [string, string]>;

export interface ObservedConnection {
  connId: bigint;
  pid: number;
  comm: string;
  cgroupId: bigint;
  /** Which side this process is; resolved from the handshake or from which way the request flowed. */
  role: 'client' | 'server';
  socket: SocketTuple;
  /** Where the plaintext came from: socket syscalls, or a TLS library probe (decrypted). Default syscall. */
  captureSource?: 'syscall' | 'tls';
}

export interface ObservedRequest {
  method: string;
  /** Request target as sent (path and query). */
  target: string;
  path: string;
  query: string;
  /** e.g. `1.1` */
  version: string;
  /** Lowercased names, in order. */
  headers: HeaderList;
  headerBytes: number;
  bodyBytes: number;
  /** Thread that sent (client) or received (server) the request. */
  tid: number;
  /** Monotonic ns: first and last byte of the request as this process saw them. */
  startNs: bigint;
  endNs: bigint;
}

export interface ObservedResponse {
  statusCode: number;
  reason: string;
  version: string;
  headers: HeaderList;
  headerBytes: number;
  bodyBytes: number;
  tid: number;
  startNs: bigint;
  endNs: bigint;
}

/** Protocols a parser module can report; `network.protocol.name` derives from it. */
export type ProtocolName = 'http1' | 'http2' | 'grpc' | 'postgresql' | 'mysql' | 'redis' | 'dns';

/** An RPC carried by HTTP/2 (gRPC today). */
export interface RpcCall {
  system: 'grpc';
  /** Fully qualified service, e.g. `shop.Payments`. */
  service: string;
  method: string;
  /** gRPC status code from the trailers (0 = OK); absent when no trailers were seen. */
  statusCode?: number;
  statusMessage?: string;
}

/** A database or cache command. */
export interface DbCall {
  system: 'postgresql' | 'mysql' | 'redis';
  /** The command or statement's first keyword, upper case: `SELECT`, `INSERT`, `GET`, `HSET`. */
  operation: string;
  /** The statement with literals replaced by `?` (never raw values: they hold data). */
  queryText?: string;
  /** Database name (PostgreSQL/MySQL) or index (Redis), when the parser saw it. */
  namespace?: string;
  /** Target table/collection when cheaply known. */
  collection?: string;
  /** Error code the server returned (SQLSTATE, MySQL errno, Redis error prefix). */
  errorCode?: string;
  errorMessage?: string;
  /** Rows returned or affected, when the protocol says. */
  rows?: number;
}

export interface ObservedExchange {
  protocol: ProtocolName;
  /** HTTP/2 stream id (HTTP/2 and gRPC only). */
  streamId?: number;
  rpc?: RpcCall;
  db?: DbCall;
  connection: ObservedConnection;
  /** Position of this exchange on its connection, from 0. */
  index: number;
  request: ObservedRequest;
  /** Absent when the connection closed or broke before a response came. */
  response?: ObservedResponse;
  /** Some bytes of this exchange were not captured (prefix limit or a gap). */
  truncated: boolean;
  /** When no response came: why (connection closed, timed out, stream gap). */
  incompleteReason?: string;
}
