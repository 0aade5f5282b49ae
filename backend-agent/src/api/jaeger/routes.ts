/**
 * Jaeger query-service HTTP JSON API (the paths, parameters and shapes of
 * jaeger-query's /api/*), so Grafana's built-in Jaeger data source works
 * against the agent unchanged. Every response is Jaeger's envelope:
 * {data, total, limit, offset, errors}.
 */
import type { SpanKind } from '../../model/span.js';
import type { SpanStore, TraceQuery } from '../../store/index.js';
import { badRequest, notFound } from '../api-error.js';
import { QueryReader } from '../query-params.js';
import type { ApiResponse, RequestContext, Route } from '../router.js';
import { normalizeTraceId } from '../trace-id.js';
import { loadAssembledTraces, loadReconstructedTrace } from '../traces.js';
import { toJaegerTrace } from './trace-json.js';

export const DEFAULT_TRACE_LIMIT = 100; // jaeger-query's default
export const MAX_TRACE_LIMIT = 1000;
/** jaeger-query's default search window when `start` is not given. */
export const DEFAULT_TRACE_LOOKBACK_US = 2 * 24 * 3600 * 1e6;
/** jaeger-query's default dependency lookback. */
export const DEFAULT_DEPENDENCY_LOOKBACK_MS = 24 * 3600 * 1000;

export interface JaegerError {
  code: number;
  msg: string;
  traceID?: string;
}

export interface JaegerEnvelope<T> {
  data: T;
  total: number;
  limit: number;
  offset: number;
  errors: JaegerError[] | null;
}

export function jaegerEnvelope<T>(data: T, errors: JaegerError[] | null = null): JaegerEnvelope<T> {
  return { data, total: Array.isArray(data) ? data.length : 0, limit: 0, offset: 0, errors };
}

export function jaegerErrorBody(status: number, messages: readonly string[]): JaegerEnvelope<null> {
  return jaegerEnvelope(null, messages.map((msg) => ({ code: status, msg })));
}

/** Span kinds Jaeger accepts; we only ever store client and server. */
const JAEGER_SPAN_KINDS = ['client', 'server', 'producer', 'consumer', 'internal', 'unspecified'] as const;

function ok(json: unknown): ApiResponse {
  return { json };
}

function services(store: SpanStore): ApiResponse {
  return ok(jaegerEnvelope(store.services()));
}

function serviceOperationNames(store: SpanStore, ctx: RequestContext): ApiResponse {
  const names = [...new Set(store.operations(ctx.path.service!).map((o) => o.name))];
  return ok(jaegerEnvelope(names));
}

function operations(store: SpanStore, ctx: RequestContext): ApiResponse {
  const q = new QueryReader(ctx.query);
  const service = q.require('service', q.text('service'));
  const spanKind = q.oneOf('spanKind', JAEGER_SPAN_KINDS);
  q.done();
  const stored: SpanKind | undefined = spanKind === 'client' || spanKind === 'server' ? spanKind : undefined;
  const data =
    spanKind !== undefined && stored === undefined ? [] : store.operations(service!, stored).map((o) => ({ name: o.name, spanKind: o.spanKind }));
  return ok(jaegerEnvelope(data));
}

function searchTraces(store: SpanStore, ctx: RequestContext): ApiResponse {
  const q = new QueryReader(ctx.query);
  const traceIds = q.traceIds('traceID');
  if (traceIds.length > 0) {
    q.done();
    // Jaeger's "get these traces" form: found traces in data, misses in errors.
    const found = loadAssembledTraces(store, traceIds);
    const foundIds = new Set(found.flatMap((t) => [t.traceId, ...t.memberTraceIds]));
    const missing = traceIds.filter((id) => !foundIds.has(id)).map((id) => ({ code: 404, msg: 'trace not found', traceID: id }));
    return ok(jaegerEnvelope(found.map((t) => toJaegerTrace(t.traceId, t.spans)), missing.length > 0 ? missing : null));
  }

  const service = q.require('service', q.text('service'));
  const operation = q.text('operation');
  const tags = q.tags();
  const endUs = q.timestamp('end') ?? ctx.nowUs;
  const lookbackNs = q.text('lookback') === 'custom' ? undefined : q.duration('lookback');
  const startUs =
    q.timestamp('start') ?? Math.max(0, endUs - (lookbackNs !== undefined ? lookbackNs / 1000 : DEFAULT_TRACE_LOOKBACK_US));
  const minDurationNs = q.duration('minDuration');
  const maxDurationNs = q.duration('maxDuration');
  const limit = q.integer('limit', 0, MAX_TRACE_LIMIT) || DEFAULT_TRACE_LIMIT;
  if (startUs > endUs) q.fail("'start' must not be after 'end'");
  if (minDurationNs && maxDurationNs && maxDurationNs < minDurationNs) q.fail("'maxDuration' should be greater than 'minDuration'");
  q.done();

  const query: TraceQuery = { service: service!, startUs, endUs, limit };
  if (operation !== undefined) query.operation = operation;
  if (tags !== undefined) query.tags = tags;
  if (minDurationNs) query.minDurationNs = minDurationNs;
  if (maxDurationNs) query.maxDurationNs = maxDurationNs;
  const traces = loadAssembledTraces(store, store.findTraces(query));
  return ok(jaegerEnvelope(traces.map((t) => toJaegerTrace(t.traceId, t.spans))));
}

function getTrace(store: SpanStore, ctx: RequestContext): ApiResponse {
  const raw = ctx.path.traceID!;
  const traceId = normalizeTraceId(raw);
  if (traceId === undefined) throw badRequest(`malformed trace id '${raw.slice(0, 64)}': expected 1 to 32 hex digits`);
  const trace = loadReconstructedTrace(store, traceId);
  if (!trace) throw notFound('trace not found');
  // The tree's id: for a span inside a header-less tree, its root's trace id.
  return ok(jaegerEnvelope([toJaegerTrace(trace.traceId, trace.spans)]));
}

function dependencies(store: SpanStore, ctx: RequestContext): ApiResponse {
  const q = new QueryReader(ctx.query);
  const endMs = q.timestamp('endTs') ?? Math.floor(ctx.nowUs / 1000);
  const lookbackMs = q.integer('lookback', 0, Number.MAX_SAFE_INTEGER) ?? DEFAULT_DEPENDENCY_LOOKBACK_MS;
  q.done();
  const edges = store.dependencies(Math.max(0, endMs - lookbackMs) * 1000, endMs * 1000);
  return ok(jaegerEnvelope(edges.map((e) => ({ parent: e.parent, child: e.child, callCount: e.callCount }))));
}

export function jaegerRoutes(store: SpanStore): Route[] {
  const route = (template: string, handle: (store: SpanStore, ctx: RequestContext) => ApiResponse): Route => ({
    template,
    family: 'jaeger',
    handle: (ctx) => handle(store, ctx),
  });
  return [
    route('/api/services', services),
    route('/api/services/{service}/operations', serviceOperationNames),
    route('/api/operations', operations),
    route('/api/traces', searchTraces),
    route('/api/traces/{traceID}', getTrace),
    route('/api/dependencies', dependencies),
  ];
}
