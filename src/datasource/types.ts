/**
 * The data source's query and settings model: what dashboards save (queries)
 * and what the config editor stores (jsonData, secureJsonData).
 */
import type { DataQuery, DataSourceJsonData } from '@grafana/schema';

export const QUERY_TYPES = ['trace', 'search', 'serviceGraph', 'edgeMetrics', 'spans'] as const;
export type QueryType = (typeof QUERY_TYPES)[number];

export const EDGE_METRICS = ['rate', 'errorRatio', 'p50', 'p95', 'p99'] as const;
export type EdgeMetric = (typeof EDGE_METRICS)[number];

export type StatusFilter = 'unset' | 'ok' | 'error';
export type KindFilter = 'client' | 'server';

export interface WiretraceQuery extends DataQuery {
  queryType?: QueryType;
  /** Trace by ID. */
  traceId?: string;
  /** Search and raw spans. */
  service?: string;
  operation?: string;
  /** logfmt (`error=true url.path="/a b"`) or a JSON object, as the agent's `tags` parameter. */
  tags?: string;
  /** Go durations: `250us`, `1.2ms`, `3s`. */
  minDuration?: string;
  maxDuration?: string;
  status?: StatusFilter;
  /** Raw spans only. */
  kind?: KindFilter;
  limit?: number;
  /** Edge metrics: which series to return. */
  metric?: EdgeMetric;
  /** Edge metrics: only these edges, `parent->child` (the edges() variable's values); `{a->b,c->d}` for several. */
  edge?: string;
}

export const DEFAULT_QUERY: Partial<WiretraceQuery> = { queryType: 'search', limit: 20 };

/** One agent (one per node) the data source fans out to. */
export interface AgentEndpoint {
  /** Shown in errors and health reports; defaults to the URL. */
  name?: string;
  url: string;
}

/**
 * Span -> logs / metrics links. Grafana's trace view reads these jsonData keys
 * (`tracesToLogsV2`, `tracesToMetrics`) from any tracing data source and adds
 * the links to each span; the shapes are Grafana's own (a subset is used).
 */
export interface TraceLinkTag {
  key: string;
  /** Label name in the target data source, when it differs from the span tag key. */
  value?: string;
}

export interface TracesToLogsSettings {
  datasourceUid: string;
  tags: TraceLinkTag[];
  filterByTraceID: boolean;
  filterBySpanID: boolean;
  customQuery: boolean;
}

export interface TracesToMetricsSettings {
  datasourceUid: string;
  tags: TraceLinkTag[];
  queries: Array<{ name: string; query: string }>;
}

/**
 * Grafana's plugin.json route templates read flat jsonData fields, so each
 * agent's URL is mirrored into `agentUrlNN` (see agents/agent-settings.ts).
 */
export interface WiretraceOptions extends DataSourceJsonData {
  agents?: AgentEndpoint[];
  /** Grafana's data-source proxy timeout, seconds (the standard `timeout` jsonData key). */
  timeout?: number;
  tracesToLogsV2?: TracesToLogsSettings;
  tracesToMetrics?: TracesToMetricsSettings;
  [routeUrlKey: `agentUrl${string}`]: string | undefined;
}

export interface WiretraceSecureOptions {
  /** The agents' bearer token (`--token`); only Grafana's server reads it. */
  token?: string;
}
