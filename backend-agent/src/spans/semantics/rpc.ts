/**
 * gRPC calls as OpenTelemetry RPC spans
 * (https://opentelemetry.io/docs/specs/semconv/rpc/grpc/): the HTTP/2
 * attributes stay (they are what the network shows), the name and status
 * follow the RPC.
 */
import type { ObservedExchange, RpcCall } from '../../model/exchange.js';
import type { Attributes, SpanStatus } from '../../model/span.js';
import { httpSemantics } from './http.js';
import type { ProtocolSemantics, SemanticsDeps } from './types.js';

/** Status codes that are server errors per the gRPC semantic conventions. */
const SERVER_ERROR_CODES = new Set([2, 4, 12, 13, 14, 15]);

export const GRPC_STATUS_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
] as const;

export function rpcSemantics(ex: ObservedExchange, deps: SemanticsDeps, attributes: Attributes): ProtocolSemantics {
  const rpc = ex.rpc as RpcCall;
  // The HTTP/2 attributes first, then the RPC's (only the name and status are the RPC's own).
  httpSemantics(ex, deps, attributes);
  attributes['rpc.system'] = rpc.system;
  attributes['rpc.service'] = rpc.service;
  attributes['rpc.method'] = rpc.method;
  if (rpc.statusCode !== undefined) attributes['rpc.grpc.status_code'] = rpc.statusCode;
  const { status, message } = grpcStatus(ex.connection.role, rpc, ex.incompleteReason, ex.response?.statusCode);
  const semantics: ProtocolSemantics = { name: `${rpc.service}/${rpc.method}`, status };
  if (message) semantics.statusMessage = message;
  return semantics;
}

function grpcStatus(
  kind: 'client' | 'server',
  rpc: RpcCall,
  incompleteReason: string | undefined,
  httpStatusCode: number | undefined,
): { status: SpanStatus; message?: string } {
  if (rpc.statusCode === undefined) {
    if (httpStatusCode !== undefined && httpStatusCode !== 200) return { status: 'error', message: `HTTP ${httpStatusCode}` };
    return httpStatusCode === undefined ? { status: 'error', message: incompleteReason ?? 'no response' } : { status: 'unset' };
  }
  if (rpc.statusCode === 0) return { status: 'unset' };
  const isError = kind === 'client' || SERVER_ERROR_CODES.has(rpc.statusCode);
  if (!isError) return { status: 'unset' };
  const name = GRPC_STATUS_NAMES[rpc.statusCode] ?? `status ${rpc.statusCode}`;
  return { status: 'error', message: rpc.statusMessage ? `${name}: ${rpc.statusMessage}` : name };
}
