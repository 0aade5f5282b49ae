/**
 * One request/response exchange as a protocol parser saw it on one side of a
 * connection: the hand-off from protocols/ to spans/. Protocol-neutral enough
 * that HTTP/2 and gRPC parsers can produce it too.
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

export interface ObservedExchange {
  protocol: 'http1';
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
