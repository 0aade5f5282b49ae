/**
 * The Grafana glue: turns Grafana requests into calls of the pure query,
 * variable and health modules, with agent calls going through this data
 * source's proxy routes (plugin.json) so the bearer token stays server-side.
 */
import {
  DataSourceApi,
  LoadingState,
  type DataQueryError,
  type DataQueryRequest,
  type DataQueryResponse,
  type DataSourceInstanceSettings,
  type MetricFindValue,
  type ScopedVars,
  type TestDataSourceResponse,
} from '@grafana/data';
import { getBackendSrv, getTemplateSrv, isFetchError } from '@grafana/runtime';
import { lastValueFrom } from 'rxjs';
import type { AgentFetch } from './agents/agent-fetch';
import { agentRefs, DEFAULT_TIMEOUT_SECONDS, routePath, type AgentRef } from './agents/agent-settings';
import { checkAgents } from './health/health-check';
import { runQuery, type QueryContext } from './query/run-query';
import { parseVariableQuery, variableValues } from './query/variables';
import { DEFAULT_QUERY, type WiretraceOptions, type WiretraceQuery } from './types';

export class WiretraceDataSource extends DataSourceApi<WiretraceQuery, WiretraceOptions> {
  readonly agents: AgentRef[];
  private readonly proxyUrl: string;
  private readonly timeoutMs: number;

  constructor(instanceSettings: DataSourceInstanceSettings<WiretraceOptions>) {
    super(instanceSettings);
    this.agents = agentRefs(instanceSettings.jsonData);
    this.proxyUrl = instanceSettings.url ?? '';
    // A little over Grafana's own proxy timeout, so its clearer error wins.
    this.timeoutMs = ((instanceSettings.jsonData.timeout ?? DEFAULT_TIMEOUT_SECONDS) + 1) * 1000;
  }

  /** GET through the agent's proxy route; HTTP errors resolve with their status, network failures reject. */
  private readonly fetchAgent: AgentFetch = async (agent, path, params) => {
    const query = params.toString();
    const url = `${this.proxyUrl}/${routePath(agent.index)}${path}${query ? `?${query}` : ''}`;
    try {
      const res = await lastValueFrom(getBackendSrv().fetch<unknown>({ url, method: 'GET', showErrorAlert: false, showSuccessAlert: false }));
      return { status: res.status, body: res.data };
    } catch (err) {
      if (isFetchError(err)) return { status: err.status, body: err.data };
      throw err;
    }
  };

  override getDefaultQuery(): Partial<WiretraceQuery> {
    return DEFAULT_QUERY;
  }

  applyTemplateVariables(query: WiretraceQuery, scopedVars: ScopedVars): WiretraceQuery {
    const t = getTemplateSrv();
    const r = (v: string | undefined) => (v === undefined ? undefined : t.replace(v, scopedVars));
    const out: WiretraceQuery = { ...query };
    for (const key of ['traceId', 'service', 'operation', 'tags', 'minDuration', 'maxDuration', 'edge'] as const) {
      const v = r(query[key]);
      if (v !== undefined) out[key] = v;
    }
    return out;
  }

  private context(fromMs: number, toMs: number, intervalMs: number): QueryContext {
    return {
      agents: this.agents,
      fetch: this.fetchAgent,
      timeoutMs: this.timeoutMs,
      fromMs,
      toMs,
      intervalMs,
      datasource: { uid: this.uid, name: this.name },
    };
  }

  async query(request: DataQueryRequest<WiretraceQuery>): Promise<DataQueryResponse> {
    const ctx = this.context(request.range.from.valueOf(), request.range.to.valueOf(), request.intervalMs);
    const targets = request.targets.filter((t) => !t.hide);
    const outcomes = await Promise.all(targets.map((t) => runQuery(this.applyTemplateVariables(t, request.scopedVars), ctx)));
    const errors: DataQueryError[] = outcomes.flatMap((o, i) => o.errors.map((e) => ({ message: e.message, refId: targets[i]!.refId })));
    return {
      data: outcomes.flatMap((o) => o.frames),
      ...(errors.length > 0 ? { errors, error: errors[0] } : {}),
      state: LoadingState.Done,
    };
  }

  override async metricFindQuery(query: string, options?: { range?: { from: { valueOf(): number }; to: { valueOf(): number } } }): Promise<MetricFindValue[]> {
    const parsed = parseVariableQuery(getTemplateSrv().replace(query));
    const toMs = options?.range?.to.valueOf() ?? Date.now();
    const fromMs = options?.range?.from.valueOf() ?? toMs - 3600_000;
    const { values, errors } = await variableValues(parsed, { agents: this.agents, fetch: this.fetchAgent, timeoutMs: this.timeoutMs, fromMs, toMs });
    if (values.length === 0 && errors.length > 0) throw errors[0];
    return values.map((text) => ({ text, value: text }));
  }

  /** For the query editor's pickers. */
  async services(): Promise<string[]> {
    return (await this.metricFindQuery('services()')).map((v) => v.text);
  }

  async operations(service: string): Promise<string[]> {
    return (await this.metricFindQuery(`operations(${service})`)).map((v) => v.text);
  }

  async testDatasource(): Promise<TestDataSourceResponse> {
    const report = await checkAgents(this.agents, this.fetchAgent, this.timeoutMs);
    const [head, ...lines] = report.message.split('\n');
    return { status: report.status, message: head ?? '', details: { message: lines.join('\n') } };
  }
}
