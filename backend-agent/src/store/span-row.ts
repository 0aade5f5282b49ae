/**
 * Mapping between a Span and its row in the `spans` table. The queried fields
 * are copied into columns; the whole span is stored as JSON and is the only
 * thing read back, so the columns can never disagree with what is served.
 * The span is stored in the compact encoding of span-codec.ts.
 */
import type { AttributeValue, Span } from '../model/span.js';
import { decodeSpan, encodeSpan } from './span-codec.js';
import { spanProtocol } from './span-protocol.js';
import { spanKey, traceKey } from './row-keys.js';

/** Named parameters of the upsert statement (better-sqlite3 binds `@name`). */
export interface SpanRow {
  trace_id: string;
  span_id: string;
  kind: string;
  parent_span_id: string | null;
  service: string;
  name: string;
  peer_service: string;
  peer_local: number;
  start_us: number;
  duration_ns: number;
  status: string;
  http_method: string | null;
  http_path: string | null;
  http_status_code: number | null;
  pid: number;
  tid: number;
  host: string;
  connection_id: string;
  exchange_index: number;
  trace_id_source: string;
  request_bytes: number;
  response_bytes: number;
  /** row-keys.ts (schema v8): the identity index's keys. */
  trace_key: number;
  span_key: number;
  span_json: string;
}

export const SPAN_COLUMNS: readonly (keyof SpanRow)[] = [
  'trace_id', 'span_id', 'kind', 'parent_span_id', 'service', 'name', 'peer_service', 'peer_local',
  'start_us', 'duration_ns', 'status', 'http_method', 'http_path', 'http_status_code', 'pid', 'tid',
  'host', 'connection_id', 'exchange_index', 'trace_id_source', 'request_bytes', 'response_bytes', 'trace_key', 'span_key',
  'span_json',
];

function stringOrNull(value: AttributeValue | undefined): string | null {
  return value === undefined ? null : String(value);
}

/** Status codes arrive as numbers from the parser; tolerate a numeric string. */
function integerOrNull(value: AttributeValue | undefined): number | null {
  if (typeof value === 'number' && Number.isInteger(value)) return value;
  if (typeof value === 'string' && /^\d+$/.test(value)) return Number(value);
  return null;
}

/** STRICT INTEGER columns reject fractions; the JSON keeps the exact value. */
function integer(value: number): number {
  return Number.isFinite(value) ? Math.round(value) : 0;
}

export function spanToRow(span: Span): SpanRow {
  const attrs = span.attributes ?? {};
  const pid = integer(span.process.pid);
  const exchangeIndex = integer(span.network.exchangeIndex);
  return {
    trace_id: span.traceId,
    span_id: span.spanId,
    kind: span.kind,
    parent_span_id: span.parentSpanId || null,
    service: span.service,
    name: span.name,
    peer_service: span.peerService,
    peer_local: span.peerLocal ? 1 : 0,
    start_us: integer(span.startTimeUs),
    duration_ns: integer(span.durationNs),
    status: span.status,
    http_method: stringOrNull(attrs['http.request.method']),
    http_path: stringOrNull(attrs['url.path']),
    http_status_code: integerOrNull(attrs['http.response.status_code']),
    pid,
    tid: integer(span.threadId),
    host: span.process.hostName,
    connection_id: span.network.connectionId,
    exchange_index: exchangeIndex,
    trace_id_source: span.traceIdSource,
    request_bytes: integer(span.network.requestBytes),
    response_bytes: integer(span.network.responseBytes),
    trace_key: traceKey(span.traceId),
    span_key: spanKey(span.spanId, span.kind, span.process.hostName, pid, span.network.connectionId, exchangeIndex),
    span_json: encodeSpan(span),
  };
}

/** A span converted for the write path: its row, and its edge's application protocol (kept per batch, not a column). */
export interface PreparedSpan {
  row: SpanRow;
  protocol: string | undefined;
}

export function prepareSpan(span: Span): PreparedSpan {
  return { row: spanToRow(span), protocol: spanProtocol(span.attributes ?? {}) };
}

export function rowToSpan(spanJson: string): Span {
  return decodeSpan(spanJson);
}
