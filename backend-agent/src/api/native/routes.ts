/**
 * wiretrace's native API under /api/v1/: the full Span model (ns durations,
 * link methods and confidences, capture details) for the Grafana plugin and
 * scripts. Errors use {"errors":[{"code","msg"}]}. Documented in docs/API.md.
 */
import type { SpanStatus } from '../../model/span.js';
import type { SpanQuery, SpanStore, TraceQuery } from '../../store/index.js';
import { badRequest, notFound } from '../api-error.js';
import { QueryReader } from '../query-params.js';
import type { ApiResponse, RequestContext, Route } from '../router.js';
import { normalizeTraceId } from '../trace-id.js';
import { loadAssembledTraces, loadReconstructedTrace } from '../traces.js';
import { summarizeTrace } from './trace-summary.js';

export const DEFAULT_NATIVE_LIMIT = 100;
export const MAX_SPAN_LIMIT = 10_000;
export const MAX_NATIVE_TRACE_LIMIT = 1000;
export const DEFAULT_DEPENDENCY_WINDOW_US = 3600 * 1e6;
/** Buckets per edge series at most: Grafana's own maxDataPoints ceiling is of this order. */
export const MAX_EDGE_BUCKETS = 11_000;
/** Default bucket count when `step` is absent. */
const DEFAULT_EDGE_BUCKETS = 60;

const KINDS = ['client', 'server'] as const;
const STATUSES: readonly SpanStatus[] = ['unset', 'ok', 'error'];

/** Filters shared by /api/v1/traces and /api/v1/spans. */
function readSpanFilters(q: QueryReader, maxLimit: number): SpanQuery {
  const filter: SpanQuery = { limit: q.integer('limit', 1, maxLimit) ?? DEFAULT_NATIVE_LIMIT };
  const service = q.text('service');
  const operation = q.text('operation');
  const tags = q.tags();
  const startUs = q.timestamp('start');
  const endUs = q.timestamp('end');
  const minDurationNs = q.duration('minDuration');
  const maxDurationNs = q.duration('maxDuration');
  if (service !== undefined) filter.service = service;
  if (operation !== undefined) filter.operation = operation;
  if (tags !== undefined) filter.tags = tags;
  if (startUs !== undefined) filter.startUs = startUs;
  if (endUs !== undefined) filter.endUs = endUs;
  if (minDurationNs !== undefined) filter.minDurationNs = minDurationNs;
  if (maxDurationNs !== undefined) filter.maxDurationNs = maxDurationNs;
  if (startUs !== undefined && endUs !== undefined && startUs > endUs) q.fail("'start' must not be after 'end'");
  if (minDurationNs !== undefined && maxDurationNs !== undefined && maxDurationNs < minDurationNs) {
    q.fail("'maxDuration' must not be less than 'minDuration'");
  }
  return filter;
}

function listServices(store: SpanStore): ApiResponse {
  return { json: { services: store.services() } };
}

function listOperations(store: SpanStore, ctx: RequestContext): ApiResponse {
  const q = new QueryReader(ctx.query);
  const kind = q.oneOf('kind', KINDS);
  q.done();
  const operations = store.operations(ctx.path.service!, kind).map((o) => ({ name: o.name, kind: o.spanKind }));
  return { json: { operations } };
}

function getTrace(store: SpanStore, ctx: RequestContext): ApiResponse {
  const raw = ctx.path.traceId!;
  const traceId = normalizeTraceId(raw);
  if (traceId === undefined) throw badRequest(`malformed trace id '${raw.slice(0, 64)}': expected 1 to 32 hex digits`);
  const trace = loadReconstructedTrace(store, traceId);
  if (!trace) throw notFound('trace not found');
  // The tree's id: for a span inside a header-less tree, its root's trace id.
  return { json: { traceId: trace.traceId, spans: trace.spans } };
}

function searchTraces(store: SpanStore, ctx: RequestContext): ApiResponse {
  const q = new QueryReader(ctx.query);
  const query: TraceQuery = readSpanFilters(q, MAX_NATIVE_TRACE_LIMIT);
  q.done();
  const traces = loadAssembledTraces(store, store.findTraces(query));
  return { json: { traces: traces.map((t) => summarizeTrace(t.traceId, t.spans)) } };
}

function searchSpans(store: SpanStore, ctx: RequestContext): ApiResponse {
  const q = new QueryReader(ctx.query);
  const query = readSpanFilters(q, MAX_SPAN_LIMIT);
  const kind = q.oneOf('kind', KINDS);
  const status = q.oneOf('status', STATUSES);
  const traceId = q.traceId('traceId');
  q.done();
  if (kind !== undefined) query.kind = kind;
  if (status !== undefined) query.status = status;
  if (traceId !== undefined) query.traceId = traceId;
  return { json: { spans: store.searchSpans(query) } };
}

function dependencies(store: SpanStore, ctx: RequestContext): ApiResponse {
  const q = new QueryReader(ctx.query);
  const endUs = q.timestamp('end') ?? ctx.nowUs;
  const startUs = q.timestamp('start') ?? Math.max(0, endUs - DEFAULT_DEPENDENCY_WINDOW_US);
  if (startUs > endUs) q.fail("'start' must not be after 'end'");
  q.done();
  return { json: { startUs, endUs, dependencies: store.dependencyStats(startUs, endUs) } };
}

function edgeTimeseries(store: SpanStore, ctx: RequestContext): ApiResponse {
  const q = new QueryReader(ctx.query);
  const endUs = q.timestamp('end') ?? ctx.nowUs;
  const startUs = q.timestamp('start') ?? Math.max(0, endUs - DEFAULT_DEPENDENCY_WINDOW_US);
  const stepNs = q.duration('step');
  if (startUs > endUs) q.fail("'start' must not be after 'end'");
  if (stepNs !== undefined && stepNs < 1_000) q.fail("'step' must be at least 1us");
  const windowUs = endUs - startUs;
  const stepUs = stepNs !== undefined ? Math.floor(stepNs / 1000) : Math.max(1_000_000, Math.ceil((windowUs + 1) / DEFAULT_EDGE_BUCKETS));
  if (stepUs >= 1 && Math.floor(windowUs / stepUs) + 1 > MAX_EDGE_BUCKETS) {
    q.fail(`'step' too small: more than ${MAX_EDGE_BUCKETS} buckets between 'start' and 'end'`);
  }
  q.done();
  return { json: { startUs, endUs, stepUs, edges: store.edgeTimeseries(startUs, endUs, stepUs) } };
}

export function nativeRoutes(store: SpanStore): Route[] {
  const route = (template: string, handle: (store: SpanStore, ctx: RequestContext) => ApiResponse): Route => ({
    template,
    family: 'native',
    handle: (ctx) => handle(store, ctx),
  });
  return [
    route('/api/v1/services', listServices),
    route('/api/v1/services/{service}/operations', listOperations),
    route('/api/v1/traces', searchTraces),
    route('/api/v1/traces/{traceId}', getTrace),
    route('/api/v1/spans', searchSpans),
    route('/api/v1/dependencies', dependencies),
    route('/api/v1/edges/timeseries', edgeTimeseries),
  ];
}
