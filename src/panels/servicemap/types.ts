export interface ServiceMapOptions {
  /** Edge p95 latency (ms) at or above which an edge turns amber. */
  latencyWarnMs: number;
  /** Edge p95 latency (ms) at or above which an edge turns red. */
  latencyCritMs: number;
  /** Error ratio (0..1) at or above which an edge turns amber. */
  errorWarnRatio: number;
  /** Error ratio (0..1) at or above which an edge turns red. */
  errorCritRatio: number;
  /**
   * Where a click on an edge goes: a URL template with ${client} and ${server}
   * (URL-encoded) substituted, then dashboard variables via replaceVariables.
   */
  edgeLink: string;
  /** Where a click on a node goes: ${service} substituted (URL-encoded), then dashboard variables. */
  nodeLink: string;
  showEdgeLabels: boolean;
}

export const DEFAULT_EDGE_LINK = '/explore?wiretrace-client=${client}&wiretrace-server=${server}';

export const DEFAULT_NODE_LINK = '/explore?wiretrace-service=${service}';

export const DEFAULT_OPTIONS: ServiceMapOptions = {
  latencyWarnMs: 100,
  latencyCritMs: 500,
  errorWarnRatio: 0.01,
  errorCritRatio: 0.05,
  edgeLink: DEFAULT_EDGE_LINK,
  nodeLink: DEFAULT_NODE_LINK,
  showEdgeLabels: true,
};

export type Severity = 'ok' | 'warn' | 'crit' | 'unknown';

/** The worse of the latency and error severities of an edge. */
export function edgeSeverity(p95Ms: number | undefined, errorRatio: number | undefined, o: ServiceMapOptions): Severity {
  if (p95Ms === undefined && errorRatio === undefined) return 'unknown';
  const lat = p95Ms === undefined ? 0 : p95Ms >= o.latencyCritMs ? 2 : p95Ms >= o.latencyWarnMs ? 1 : 0;
  const err = errorRatio === undefined ? 0 : errorRatio >= o.errorCritRatio && errorRatio > 0 ? 2 : errorRatio >= o.errorWarnRatio && errorRatio > 0 ? 1 : 0;
  return (['ok', 'warn', 'crit'] as const)[Math.max(lat, err)]!;
}

/** The edge link with client and server filled in (URL-encoded). */
export function edgeHref(template: string, client: string, server: string): string {
  return template.replace(/\$\{client\}/g, encodeURIComponent(client)).replace(/\$\{server\}/g, encodeURIComponent(server));
}

/** The node link with the service filled in (URL-encoded). */
export function nodeHref(template: string, service: string): string {
  return template.replace(/\$\{service\}/g, encodeURIComponent(service));
}
