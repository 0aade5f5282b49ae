/**
 * Turns one observed exchange into one span. Pure given its dependencies:
 * process naming, peer lookup, header parsing and redaction are passed in,
 * so this is tested without /proc or a kernel.
 *
 * Id rules (what makes the two sides of a call and the hops of a trace join):
 * - A client span whose outbound request carried a trace context takes the
 *   caller's span id from the header as its own id: that header is exactly
 *   what the caller announced as "this call".
 * - A server span whose inbound request carried one gets that same id as its
 *   parent, and an id of its own derived from it.
 * - Without headers, trace and span ids are derived from the connection and
 *   the exchange's position on it; reconstruction links them later.
 */
import type { ObservedExchange, HeaderList } from '../model/exchange.js';
import type { Attributes, ProcessInfo, Span, TraceContext } from '../model/span.js';
import type { SocketTuple } from '../model/events.js';
import { derivedIds, derivedSpanId } from './ids.js';
import { semanticsOf } from './semantics/index.js';
import { setHeaderAttribute } from './attribute-keys.js';

export interface PeerProcess {
  pid: number;
  comm: string;
}

export interface SpanBuilderDeps {
  /** Names the process that owns a socket (reads /proc in production). */
  resolveProcess(pid: number, comm: string): ProcessInfo;
  /** The local process at the other end of a socket, if on this host. */
  peerOf(socket: SocketTuple): PeerProcess | undefined;
  extractTraceContext(headers: HeaderList): { context?: TraceContext; correlationIds: Record<string, string> };
  redactHeaders(headers: HeaderList): HeaderList;
  redactQuery(query: string): string;
  redactPath(path: string): string;
  /** Kernel time (CLOCK_BOOTTIME ns) -> Unix µs. */
  toUnixUs(kernelNs: bigint): number;
  /** Makes derived ids unique to this capture session (loader start), since conn ids restart with it. */
  sessionKey: string;
  /** Lowercase request header names stored verbatim as attributes (evaluation only, never used for linking). */
  recordHeaders?: readonly string[];
}

const MAX_HEADER_ATTRIBUTE = 512;

export function buildSpan(ex: ObservedExchange, deps: SpanBuilderDeps): Span {
  const { connection: conn, request: req, response: res } = ex;
  const kind = conn.role;
  const process = deps.resolveProcess(conn.pid, conn.comm);
  const peer = deps.peerOf(conn.socket);
  const peerService = peer
    ? deps.resolveProcess(peer.pid, peer.comm).serviceName
    : kind === 'client'
      ? `${conn.socket.remote.address}:${conn.socket.remote.port}`
      : conn.socket.remote.address; // a remote client's port is ephemeral: naming by it would explode cardinality

  const { context, correlationIds } = deps.extractTraceContext(req.headers);
  // Once per span (it was built twice): a BigInt's decimal string is made in native code.
  const connectionId = conn.connId.toString();
  const exchangeKey = `${deps.sessionKey}|${connectionId}|${ex.index}`;
  let traceId: string;
  let spanId: string;
  let parentSpanId: string | undefined;
  if (context && kind === 'client' && context.callerSpanId) {
    traceId = context.traceId;
    spanId = context.callerSpanId;
    parentSpanId = context.callerParentSpanId;
  } else if (context) {
    traceId = context.traceId;
    spanId = derivedSpanId(`${exchangeKey}|${kind}|${context.callerSpanId ?? ''}`);
    parentSpanId = context.callerSpanId;
  } else {
    ({ traceId, spanId } = derivedIds(`${exchangeKey}|${kind}`));
  }

  // Client: from the first request byte sent to the last response byte received.
  // Server: from the first request byte received to the last response byte sent.
  const startNs = req.startNs;
  const endNs = res ? res.endNs : req.endNs;
  const durationNs = endNs > startNs ? nsBetween(startNs, endNs) : 0;

  const local = conn.socket.local;
  const remote = conn.socket.remote;
  const attributes: Attributes = {
    'network.transport': 'tcp',
    'network.type': conn.socket.family,
    'process.pid': conn.pid,
    'process.executable.name': process.executableName,
    'thread.id': req.tid,
  };
  const semantics = semanticsOf(ex, deps, attributes);
  // The server is the remote end for a client span, this end for a server
  // span; a protocol's own notion of it (an HTTP Host header) wins.
  const serverEnd = kind === 'client' ? remote : local;
  if (attributes['server.address'] === undefined) attributes['server.address'] = serverEnd.address;
  attributes['server.port'] = serverEnd.port;
  if (kind === 'server') {
    attributes['client.address'] = remote.address;
    attributes['client.port'] = remote.port;
  }
  attributes['network.peer.address'] = remote.address;
  attributes['network.peer.port'] = remote.port;
  attributes['network.local.address'] = local.address;
  attributes['network.local.port'] = local.port;
  if (ex.streamId !== undefined) attributes['network.stream.id'] = ex.streamId;
  for (const name in correlationIds) {
    setHeaderAttribute(attributes, name, correlationIds[name]!.slice(0, MAX_HEADER_ATTRIBUTE));
  }
  if (context?.traceState) attributes['w3c.tracestate'] = context.traceState.slice(0, MAX_HEADER_ATTRIBUTE);
  if (process.containerId) attributes['container.id'] = process.containerId;

  const span: Span = {
    traceId,
    spanId,
    kind,
    name: semantics.name,
    service: process.serviceName,
    peerService,
    peerLocal: peer !== undefined,
    startTimeUs: deps.toUnixUs(startNs),
    durationNs,
    status: semantics.status,
    traceIdSource: context?.source ?? 'none',
    attributes,
    process,
    threadId: req.tid,
    network: {
      connectionId,
      exchangeIndex: ex.index,
      local,
      remote,
      requestBytes: req.headerBytes + req.bodyBytes,
      responseBytes: res ? res.headerBytes + res.bodyBytes : 0,
      requestTransferNs: nsBetween(req.startNs, req.endNs),
      responseTransferNs: res ? nsBetween(res.startNs, res.endNs) : 0,
      truncated: ex.truncated,
      captureSource: conn.captureSource ?? 'syscall',
    },
  };
  if (parentSpanId) {
    span.parentSpanId = parentSpanId;
    span.parentLink = { traceId, spanId: parentSpanId, method: 'header', confidence: 1 };
  }
  if (semantics.statusMessage) span.statusMessage = semantics.statusMessage;
  if (context) span.traceContext = context;
  return span;
}

/**
 * Number(to - from) without a BigInt subtraction when both are exact as
 * doubles (below 2^53 ns, i.e. 104 days of uptime): the same value, without
 * allocating a BigInt three times per span.
 */
function nsBetween(from: bigint, to: bigint): number {
  if (from >= 0n && to >= 0n && from <= MAX_EXACT && to <= MAX_EXACT) return Number(to) - Number(from);
  return Number(to - from);
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);
