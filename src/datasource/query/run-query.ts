/**
 * Runs one wiretrace query against every configured agent and builds the
 * frames. Pure (no Grafana runtime): the fetch function is injected, so tests
 * run it against real agents in Node. Template variables are already
 * interpolated by the caller.
 */
import type { DataFrame } from '@grafana/data';
import { fanOut, type AgentError, type AgentFetch } from '../agents/agent-fetch';
import type { AgentRef } from '../agents/agent-settings';
import { NativeApi, type SpanFilters, type SpanSearch, type TimeRangeUs } from '../agents/native-api';
import { mergeDependencies } from '../frames/edge-merge';
import { edgeMetricsFrames, mergeEdgeSeries } from '../frames/edge-metrics-frames';
import { mergeTraceSummaries, searchFrame } from '../frames/search-frame';
import { serviceGraphFrames } from '../frames/service-graph-frames';
import { mergeSpans, spansFrame } from '../frames/spans-frame';
import { traceFrame } from '../frames/trace-frame';
import { stitchAcrossAgents } from './stitch-hosts';
import type { DataSourceRef } from '../frames/trace-link';
import type { WiretraceQuery } from '../types';

export const DEFAULT_SEARCH_LIMIT = 20;
export const DEFAULT_SPAN_LIMIT = 100;

export interface QueryContext {
  agents: readonly AgentRef[];
  fetch: AgentFetch;
  timeoutMs: number;
  /** Dashboard time range, Unix ms. */
  fromMs: number;
  toMs: number;
  /** Dashboard interval (bucket width for edge metrics), ms. */
  intervalMs: number;
  datasource: DataSourceRef;
}

export interface QueryOutcome {
  frames: DataFrame[];
  /** One per failing agent (naming it), plus query problems. */
  errors: Array<AgentError | Error>;
}

/** The query's trace-id text as the agent accepts it (hex, no spaces), or undefined. */
export function cleanTraceId(raw: string | undefined): string | undefined {
  const id = raw?.trim().toLowerCase();
  return id && /^[0-9a-f]{1,32}$/.test(id) ? id : undefined;
}

function rangeUs(ctx: QueryContext): TimeRangeUs {
  return { startUs: Math.floor(ctx.fromMs * 1000), endUs: Math.ceil(ctx.toMs * 1000) };
}

/** Status becomes a tag filter on /api/v1/traces (which has no `status` parameter). */
function statusTag(status: WiretraceQuery['status']): string | undefined {
  if (status === 'error') return 'error=true';
  if (status === 'ok') return 'otel.status_code=OK';
  if (status === 'unset') return 'otel.status_code=UNSET';
  return undefined;
}

function spanFilters(q: WiretraceQuery, ctx: QueryContext, limit: number): SpanFilters {
  const f: SpanFilters = { limit, range: rangeUs(ctx), tags: [] };
  if (q.service) f.service = q.service;
  if (q.operation) f.operation = q.operation;
  if (q.tags?.trim()) f.tags!.push(q.tags.trim());
  if (q.minDuration?.trim()) f.minDuration = q.minDuration.trim();
  if (q.maxDuration?.trim()) f.maxDuration = q.maxDuration.trim();
  return f;
}

async function traceQuery(q: WiretraceQuery, ctx: QueryContext, api: NativeApi): Promise<QueryOutcome> {
  const traceId = cleanTraceId(q.traceId);
  if (traceId === undefined) {
    return { frames: [], errors: q.traceId?.trim() ? [new Error(`'${q.traceId}' is not a trace id (1 to 32 hex digits)`)] : [] };
  }
  const { results, errors } = await fanOut(ctx.agents, (a) => api.trace(a, traceId));
  // Hops between nodes without headers: follow each unmatched socket to the agent that saw its other end.
  // Only agents that answered are asked again: a dead one is reported once, by the fan-out.
  const stitched = await stitchAcrossAgents(
    results.map((r) => ({ agent: r.agent, spans: r.value })),
    results.map((r) => r.agent),
    api,
  );
  const spans = stitched.spans;
  const problems: Array<AgentError | Error> = [...errors, ...stitched.errors];
  if (spans.length === 0) {
    // Only say "not found" when every agent answered: a dead agent may hold it.
    return { frames: [], errors: problems.length > 0 ? problems : [new Error(`trace ${traceId.padStart(32, '0')} not found on any agent`)] };
  }
  return { frames: [traceFrame(spans[0]!.traceId, spans, q.refId)], errors: problems };
}

async function searchQuery(q: WiretraceQuery, ctx: QueryContext, api: NativeApi): Promise<QueryOutcome> {
  const limit = q.limit && q.limit > 0 ? q.limit : DEFAULT_SEARCH_LIMIT;
  const filters = spanFilters(q, ctx, limit);
  const status = statusTag(q.status);
  if (status) filters.tags!.push(status);
  const { results, errors } = await fanOut(ctx.agents, (a) => api.searchTraces(a, filters));
  const merged = mergeTraceSummaries(results.map((r) => ({ agent: r.agent.name, traces: r.value })), limit);
  return { frames: [searchFrame(merged, ctx.datasource, q.refId)], errors };
}

async function spansQuery(q: WiretraceQuery, ctx: QueryContext, api: NativeApi): Promise<QueryOutcome> {
  const limit = q.limit && q.limit > 0 ? q.limit : DEFAULT_SPAN_LIMIT;
  const search: SpanSearch = { ...spanFilters(q, ctx, limit), ...(q.kind ? { kind: q.kind } : {}), ...(q.status ? { status: q.status } : {}) };
  const traceId = cleanTraceId(q.traceId);
  if (traceId) search.traceId = traceId;
  const { results, errors } = await fanOut(ctx.agents, (a) => api.searchSpans(a, search));
  const rows = mergeSpans(results.map((r) => ({ agent: r.agent.name, spans: r.value })), limit);
  return { frames: [spansFrame(rows, ctx.datasource, q.refId)], errors };
}

async function serviceGraphQuery(q: WiretraceQuery, ctx: QueryContext, api: NativeApi): Promise<QueryOutcome> {
  const range = rangeUs(ctx);
  const { results, errors } = await fanOut(ctx.agents, (a) => api.dependencies(a, range));
  const edges = mergeDependencies(results.map((r) => r.value));
  const frames = serviceGraphFrames(edges, { rangeSeconds: (range.endUs - range.startUs) / 1e6, ...(q.refId ? { refId: q.refId } : {}) });
  return { frames, errors };
}

/**
 * The edge filter as a set of `parent->child` keys, or undefined for all edges.
 * Accepts one edge, or Grafana's multi-value form `{a->b,c->d}`; `$__all`/empty mean all.
 */
export function edgeFilter(raw: string | undefined): Set<string> | undefined {
  const text = raw?.trim() ?? '';
  if (text === '' || text === '$__all' || text === '*') return undefined;
  const list = text.startsWith('{') && text.endsWith('}') ? text.slice(1, -1).split(',') : [text];
  return new Set(list.map((e) => e.trim()).filter((e) => e !== ''));
}

async function edgeMetricsQuery(q: WiretraceQuery, ctx: QueryContext, api: NativeApi): Promise<QueryOutcome> {
  const range = rangeUs(ctx);
  // Grafana's interval can be below a millisecond for tiny ranges; the agent needs >= 1 µs.
  const stepUs = Math.max(1000, Math.round(ctx.intervalMs * 1000));
  const { results, errors } = await fanOut(ctx.agents, (a) => api.edgeTimeseries(a, range, stepUs));
  const only = edgeFilter(q.edge);
  const series = mergeEdgeSeries(results.map((r) => r.value.edges)).filter((s) => !only || only.has(`${s.parent}->${s.child}`));
  const frames = edgeMetricsFrames(series, {
    metric: q.metric ?? 'rate',
    startUs: range.startUs,
    endUs: range.endUs,
    stepUs: results[0]?.value.stepUs ?? stepUs,
    ...(q.refId ? { refId: q.refId } : {}),
  });
  return { frames, errors };
}

export async function runQuery(q: WiretraceQuery, ctx: QueryContext): Promise<QueryOutcome> {
  if (ctx.agents.length === 0) return { frames: [], errors: [new Error('no agent configured: add agent URLs in the data source settings')] };
  const api = new NativeApi(ctx.fetch, ctx.timeoutMs);
  switch (q.queryType ?? 'search') {
    case 'trace':
      return traceQuery(q, ctx, api);
    case 'search':
      return searchQuery(q, ctx, api);
    case 'spans':
      return spansQuery(q, ctx, api);
    case 'serviceGraph':
      return serviceGraphQuery(q, ctx, api);
    case 'edgeMetrics':
      return edgeMetricsQuery(q, ctx, api);
    default:
      return { frames: [], errors: [new Error(`unknown query type '${String(q.queryType)}'`)] };
  }
}
