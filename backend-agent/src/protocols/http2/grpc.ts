/**
 * gRPC over HTTP/2 (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md):
 * a stream whose content-type is application/grpc[+proto|;...] is a call to
 * `/package.Service/Method`; its status is `grpc-status` in the trailers, or
 * in the only header block of a trailers-only response; a stream reset
 * without one maps to the status the gRPC spec gives its error code.
 */
import type { RpcCall } from '../../model/exchange.js';
import type { HeaderField, Http2Exchange } from './types.js';

export function headerValue(fields: readonly HeaderField[], name: string): string | undefined {
  for (const [n, v] of fields) if (n === name) return v;
  return undefined;
}

export function isGrpc(exchange: Http2Exchange): boolean {
  const contentType = headerValue(exchange.request.headers, 'content-type') ?? (exchange.response ? headerValue(exchange.response.headers, 'content-type') : undefined);
  return contentType !== undefined && /^application\/grpc(?:[+;]|$)/i.test(contentType);
}

/** Service and method from a `:path` of the form `/package.Service/Method`. */
export function parseGrpcPath(path: string): { service: string; method: string } | undefined {
  if (!path.startsWith('/')) return undefined;
  const slash = path.lastIndexOf('/');
  if (slash <= 1 || slash === path.length - 1) return undefined;
  const service = path.slice(1, slash);
  const method = path.slice(slash + 1);
  if (service.includes('/') || method.includes('?')) return undefined;
  return { service, method };
}

/** RST_STREAM error code -> gRPC status, per PROTOCOL-HTTP2.md "Errors". */
const RESET_STATUS: Record<number, number> = {
  0x0: 13, // NO_ERROR -> INTERNAL (no status was sent)
  0x1: 13, // PROTOCOL_ERROR
  0x2: 13, // INTERNAL_ERROR
  0x3: 13, // FLOW_CONTROL_ERROR
  0x4: 13, // SETTINGS_TIMEOUT
  0x6: 13, // FRAME_SIZE_ERROR
  0x7: 14, // REFUSED_STREAM -> UNAVAILABLE
  0x8: 1, // CANCEL -> CANCELLED
  0x9: 13, // COMPRESSION_ERROR
  0xa: 13, // CONNECT_ERROR
  0xb: 8, // ENHANCE_YOUR_CALM -> RESOURCE_EXHAUSTED
  0xc: 7, // INADEQUATE_SECURITY -> PERMISSION_DENIED
};

/** The call an exchange carries, when its method can be known. */
export function grpcCall(exchange: Http2Exchange): RpcCall | undefined {
  const path = headerValue(exchange.request.headers, ':path');
  const parsed = path === undefined ? undefined : parseGrpcPath(path);
  if (!parsed) return undefined;
  const call: RpcCall = { system: 'grpc', service: parsed.service, method: parsed.method };
  const res = exchange.response;
  // Trailers first; a trailers-only response carries the status in its one header block.
  const statusSource = res ? (headerValue(res.trailers, 'grpc-status') !== undefined ? res.trailers : res.headers) : undefined;
  const status = statusSource ? headerValue(statusSource, 'grpc-status') : undefined;
  if (status !== undefined && /^\d{1,3}$/.test(status)) {
    call.statusCode = Number(status);
    const message = headerValue(statusSource as HeaderField[], 'grpc-message');
    if (message) call.statusMessage = percentDecode(message);
  } else if (exchange.reset && RESET_STATUS[exchange.reset.code] !== undefined) {
    call.statusCode = RESET_STATUS[exchange.reset.code];
    call.statusMessage = `stream reset by ${exchange.reset.by}`;
  }
  return call;
}

/** grpc-message is percent-encoded UTF-8; a malformed escape is kept as sent. */
export function percentDecode(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
