/**
 * Typed calls to one agent's native API (docs/API.md). Response shapes come
 * from the agent's own types so the two sides cannot drift apart silently.
 */
import type { Span } from '../../../backend-agent/src/model/span';
import type { AgentHealth } from '../../../backend-agent/src/model/health';
import type { TraceSummary } from '../../../backend-agent/src/api/native/trace-summary';
import type { DependencyStats } from '../../../backend-agent/src/store/dependencies';
import type { EdgeSeries } from '../../../backend-agent/src/store/edge-timeseries';
import { getAgentJson, type AgentFetch } from './agent-fetch';
import type { AgentRef } from './agent-settings';

export type { Span, AgentHealth, TraceSummary, DependencyStats, EdgeSeries };

export interface TimeRangeUs {
  startUs: number;
  endUs: number;
}

/** Filters shared by trace search and raw span search, already validated as text. */
export interface SpanFilters {
  service?: string;
  operation?: string;
  /** Each entry is one `tags` parameter (logfmt or JSON); the agent merges them. */
  tags?: string[];
  minDuration?: string;
  maxDuration?: string;
  limit?: number;
  range?: TimeRangeUs;
}

export interface SpanSearch extends SpanFilters {
  kind?: 'client' | 'server';
  status?: 'unset' | 'ok' | 'error';
  traceId?: string;
}

function filterParams(f: SpanFilters): URLSearchParams {
  const p = new URLSearchParams();
  if (f.service) p.set('service', f.service);
  if (f.operation) p.set('operation', f.operation);
  for (const t of f.tags ?? []) if (t.trim() !== '') p.append('tags', t);
  if (f.minDuration) p.set('minDuration', f.minDuration);
  if (f.maxDuration) p.set('maxDuration', f.maxDuration);
  if (f.limit !== undefined) p.set('limit', String(f.limit));
  if (f.range) {
    p.set('start', String(Math.floor(f.range.startUs)));
    p.set('end', String(Math.ceil(f.range.endUs)));
  }
  return p;
}

export class NativeApi {
  constructor(
    private readonly fetchAgent: AgentFetch,
    private readonly timeoutMs: number,
  ) {}

  private get<T>(agent: AgentRef, path: string, params = new URLSearchParams(), allowNotFound = false): Promise<T | undefined> {
    return getAgentJson<T>(this.fetchAgent, agent, path, params, this.timeoutMs, allowNotFound);
  }

  /** The trace's spans on this agent; empty when this node saw none of it. */
  async trace(agent: AgentRef, traceId: string): Promise<Span[]> {
    const body = await this.get<{ spans: Span[] }>(agent, `/api/v1/traces/${encodeURIComponent(traceId)}`, undefined, true);
    return body?.spans ?? [];
  }

  async searchTraces(agent: AgentRef, f: SpanFilters): Promise<TraceSummary[]> {
    return (await this.get<{ traces: TraceSummary[] }>(agent, '/api/v1/traces', filterParams(f)))!.traces;
  }

  async searchSpans(agent: AgentRef, f: SpanSearch): Promise<Span[]> {
    const p = filterParams(f);
    if (f.kind) p.set('kind', f.kind);
    if (f.status) p.set('status', f.status);
    if (f.traceId) p.set('traceId', f.traceId);
    return (await this.get<{ spans: Span[] }>(agent, '/api/v1/spans', p))!.spans;
  }

  async dependencies(agent: AgentRef, range: TimeRangeUs): Promise<DependencyStats[]> {
    const p = new URLSearchParams({ start: String(Math.floor(range.startUs)), end: String(Math.ceil(range.endUs)) });
    return (await this.get<{ dependencies: DependencyStats[] }>(agent, '/api/v1/dependencies', p))!.dependencies;
  }

  async edgeTimeseries(agent: AgentRef, range: TimeRangeUs, stepUs: number): Promise<{ stepUs: number; edges: EdgeSeries[] }> {
    const p = new URLSearchParams({
      start: String(Math.floor(range.startUs)),
      end: String(Math.ceil(range.endUs)),
      step: `${Math.max(1, Math.round(stepUs))}us`,
    });
    return (await this.get<{ stepUs: number; edges: EdgeSeries[] }>(agent, '/api/v1/edges/timeseries', p))!;
  }

  async services(agent: AgentRef): Promise<string[]> {
    return (await this.get<{ services: string[] }>(agent, '/api/v1/services'))!.services;
  }

  async operations(agent: AgentRef, service: string): Promise<string[]> {
    const body = await this.get<{ operations: Array<{ name: string }> }>(agent, `/api/v1/services/${encodeURIComponent(service)}/operations`);
    return body!.operations.map((o) => o.name);
  }

  async health(agent: AgentRef): Promise<AgentHealth> {
    return (await this.get<AgentHealth>(agent, '/api/health'))!;
  }
}
