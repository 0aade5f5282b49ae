/**
 * What the self-time windows keep of a span: only the fields that the
 * in-process link layer (reconstruct/in-process-links.ts, span-time.ts,
 * url-tokens.ts) and the self-time observer read. The windows store them by
 * column (span-columns.ts); this is one row read back as an object.
 *
 * Why: a window holds up to `maxSpansPerProcess` spans for a second of span
 * time or more, long enough for V8 to promote what it holds to the old
 * generation, where it waits for a full GC. The link layer gets a
 * span-shaped copy built only for the call (young garbage, cheap to collect).
 *
 * The layer is typed on whole spans, so the copy fills the fields it does not
 * read with neutral values; test/backend-agent/export/self-time-diff.test.ts
 * checks, on randomized spans, that every estimate equals the one made from
 * whole spans. A new field read by the layer must be added here.
 */
import type { Attributes, Endpoint, NetworkInfo, ProcessInfo, Span, SpanKind, SpanStatus, TraceContextSource } from '../model/span.js';

/** Attributes the link layer reads: URL tokens and targets, correlation ids. */
export const URL_PATH = 'url.path';
export const URL_QUERY = 'url.query';
export const X_REQUEST_ID = 'http.request.header.x-request-id';
export const X_CORRELATION_ID = 'http.request.header.x-correlation-id';
export const REQUEST_ID = 'http.request.header.request-id';

export interface SelfTimeSpan {
  readonly kind: SpanKind;
  readonly spanId: string;
  /** Read only where a header gave it: empty for `traceIdSource: 'none'`, which the layer never compares. */
  readonly traceId: string;
  readonly traceIdSource: TraceContextSource;
  readonly service: string;
  readonly peerService: string;
  readonly peerLocal: boolean;
  readonly status: SpanStatus;
  readonly startTimeUs: number;
  readonly durationNs: number;
  readonly endUs: number;
  readonly threadId: number;
  readonly remotePort: number;
  readonly requestTransferNs: number;
  // The layer ignores attributes that are not strings, so only strings are kept.
  readonly urlPath: string | undefined;
  readonly urlQuery: string | undefined;
  readonly xRequestId: string | undefined;
  readonly xCorrelationId: string | undefined;
  readonly requestId: string | undefined;
}

export function stringOrUndefined(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

const NO_ENDPOINT: Endpoint = Object.freeze({ address: '', port: 0 });
const NO_ATTRIBUTES: Attributes = Object.freeze({});

/** The process fields the layer reads (its grouping key); one object per window. */
export function windowProcess(hostName: string, pid: number): ProcessInfo {
  return { pid, hostName, serviceName: '', serviceNameSource: 'comm', executableName: '' };
}

/** A span-shaped copy of the projection for one call of the link layer. */
export function layerSpan(p: SelfTimeSpan, process: ProcessInfo): Span {
  const network: NetworkInfo = {
    connectionId: '',
    exchangeIndex: 0,
    local: NO_ENDPOINT,
    remote: { address: '', port: p.remotePort },
    requestBytes: 0,
    responseBytes: 0,
    requestTransferNs: p.requestTransferNs,
    responseTransferNs: 0,
    truncated: false,
    captureSource: 'syscall',
  };
  return {
    traceId: p.traceId,
    spanId: p.spanId,
    kind: p.kind,
    name: '',
    service: p.service,
    peerService: p.peerService,
    peerLocal: p.peerLocal,
    startTimeUs: p.startTimeUs,
    durationNs: p.durationNs,
    status: p.status,
    traceIdSource: p.traceIdSource,
    attributes: layerAttributes(p),
    process,
    threadId: p.threadId,
    network,
  };
}

function layerAttributes(p: SelfTimeSpan): Attributes {
  if (p.urlPath === undefined && p.urlQuery === undefined && p.xRequestId === undefined && p.xCorrelationId === undefined && p.requestId === undefined) {
    return NO_ATTRIBUTES;
  }
  const a: Attributes = {};
  if (p.urlPath !== undefined) a[URL_PATH] = p.urlPath;
  if (p.urlQuery !== undefined) a[URL_QUERY] = p.urlQuery;
  if (p.xRequestId !== undefined) a[X_REQUEST_ID] = p.xRequestId;
  if (p.xCorrelationId !== undefined) a[X_CORRELATION_ID] = p.xCorrelationId;
  if (p.requestId !== undefined) a[REQUEST_ID] = p.requestId;
  return a;
}
