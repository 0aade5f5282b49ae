/**
 * Query types and the WHERE-clause builder shared by trace search and span
 * listing. Every value is bound as a parameter; only fixed column names and
 * operators from this file are ever put in the SQL text.
 */
import type { SpanKind, SpanStatus } from '../model/span.js';
import { ENCODED_ATTRIBUTES_INDEX, encodeAttributeKey } from './span-codec.js';
import { traceKey } from './row-keys.js';

/** Jaeger-style trace search: a trace matches when one of its spans matches every filter. */
export interface TraceQuery {
  service?: string;
  operation?: string;
  /** Span tags/attributes that must all match on the same span (values compared as text). */
  tags?: Record<string, string>;
  /** Inclusive bounds on the matching span's start, Unix µs. */
  startUs?: number;
  endUs?: number;
  minDurationNs?: number;
  maxDurationNs?: number;
  limit: number;
}

/** Raw span listing (native API): the trace filters plus a few span-only ones. */
export interface SpanQuery extends TraceQuery {
  kind?: SpanKind;
  status?: SpanStatus;
  traceId?: string;
}

export interface SqlFragment {
  sql: string;
  params: Array<string | number>;
}

/** A condition that can never hold, for tag values that cannot match (e.g. error=maybe). */
const NEVER = '0';

/**
 * Tags that are derived from span fields rather than stored in `attributes`
 * (the Jaeger tags we serve: see api/jaeger/trace-json.ts), mapped to the
 * indexed-or-at-least-real column they come from.
 */
function derivedTagCondition(key: string, value: string): SqlFragment | undefined {
  switch (key) {
    case 'error':
      if (value === 'true') return { sql: "status = 'error'", params: [] };
      if (value === 'false') return { sql: "status <> 'error'", params: [] };
      return { sql: NEVER, params: [] };
    case 'otel.status_code':
      return { sql: 'status = ?', params: [value.toLowerCase()] };
    case 'span.kind':
      return { sql: 'kind = ?', params: [value] };
    case 'peer.service':
      return { sql: 'peer_service = ?', params: [value] };
    case 'wiretrace.trace_id_source':
      return { sql: 'trace_id_source = ?', params: [value] };
    case 'net.connection.id':
      return { sql: 'connection_id = ?', params: [value] };
    case 'process.pid':
      return /^\d+$/.test(value) ? { sql: 'pid = ?', params: [Number(value)] } : { sql: NEVER, params: [] };
    case 'thread.id':
      return /^\d+$/.test(value) ? { sql: 'tid = ?', params: [Number(value)] } : { sql: NEVER, params: [] };
    case 'host.name':
      return { sql: 'host = ?', params: [value] };
    default:
      return undefined;
  }
}

/**
 * Attribute match: the attribute exists and its JSON value, rendered as text
 * the way the API renders it (true/false, 500, 1.5, "GET"), equals `value`.
 */
function attributeCondition(key: string, value: string): SqlFragment {
  // Rows in the compact encoding (span-codec.ts: a JSON array) keep attributes
  // as a flat [key, value, ...] array at a fixed index, under encoded keys;
  // rows from before it are plain JSON objects with an `attributes` object.
  const attrs = `'$[${ENCODED_ATTRIBUTES_INDEX}]'`;
  const asText = (v: string): string => `(CASE ${v}.type WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(${v}.value AS TEXT) END)`;
  return {
    sql:
      "(CASE WHEN substr(spans.span_json, 1, 1) = '[' THEN " +
      `EXISTS (SELECT 1 FROM json_each(spans.span_json, ${attrs}) AS k WHERE k.key % 2 = 0 AND k.type = 'text' AND k.value = ? AND ` +
      `(SELECT ${asText('v')} FROM json_each(spans.span_json, ${attrs}) AS v WHERE v.key = k.key + 1) = ?) ` +
      "ELSE EXISTS (SELECT 1 FROM json_each(spans.span_json, '$.attributes') AS attr WHERE attr.key = ? AND " +
      `${asText('attr')} = ?) END)`,
    params: [encodeAttributeKey(key), value, key, value],
  };
}

export function tagCondition(key: string, value: string): SqlFragment {
  return derivedTagCondition(key, value) ?? attributeCondition(key, value);
}

/** WHERE clause (without the keyword) for a span filter; `1` when there is no filter. */
export function spanFilterWhere(q: Omit<SpanQuery, 'limit'>): SqlFragment {
  const parts: string[] = [];
  const params: Array<string | number> = [];
  const add = (sql: string, ...values: Array<string | number>) => {
    parts.push(sql);
    params.push(...values);
  };
  if (q.traceId !== undefined) add('trace_key = ? AND trace_id = ?', traceKey(q.traceId), q.traceId);
  if (q.service !== undefined) add('service = ?', q.service);
  if (q.operation !== undefined) add('name = ?', q.operation);
  if (q.kind !== undefined) add('kind = ?', q.kind);
  if (q.status !== undefined) add('status = ?', q.status);
  if (q.startUs !== undefined) add('start_us >= ?', Math.floor(q.startUs));
  if (q.endUs !== undefined) add('start_us <= ?', Math.ceil(q.endUs));
  if (q.minDurationNs !== undefined) add('duration_ns >= ?', Math.ceil(q.minDurationNs));
  if (q.maxDurationNs !== undefined) add('duration_ns <= ?', Math.floor(q.maxDurationNs));
  for (const [key, value] of Object.entries(q.tags ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const cond = tagCondition(key, value);
    add(cond.sql, ...cond.params);
  }
  return { sql: parts.length === 0 ? '1' : parts.join(' AND '), params };
}

/**
 * The index a filter should walk. SQLite's planner, without ANALYZE
 * statistics, rates (service) and (service, name) about the same and may
 * pick the shorter one; the access paths here are known, so they are pinned
 * with INDEXED BY, which also makes a missing index an error instead of a
 * silent full scan.
 */
function indexFor(q: Omit<SpanQuery, 'limit'>): string {
  if (q.traceId !== undefined) return 'spans_identity';
  // With an operation too, the (service, start_us) walk filters on name (schema v6 dropped the
  // (service, name, start_us) index: one index write fewer per span).
  if (q.service !== undefined) return 'spans_service_start';
  return 'spans_start';
}

/**
 * Spans matching the filter, newest first. Ordering by start_us lets SQLite
 * walk the (service[, name], start_us) or (start_us) index backwards and stop
 * as soon as the caller has enough, instead of sorting the whole range.
 */
export function matchingSpansSql(q: Omit<SpanQuery, 'limit'>, column: 'trace_id' | 'span_json'): SqlFragment {
  const where = spanFilterWhere(q);
  return {
    sql: `SELECT ${column} FROM spans INDEXED BY ${indexFor(q)} WHERE ${where.sql} ORDER BY start_us DESC, id DESC`,
    params: where.params,
  };
}
