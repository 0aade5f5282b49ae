/**
 * What the provisioning tests need to know about PromQL: the metric names the
 * agent really exports (from the code that renders /metrics, not a copy of
 * the list), the metric names an expression uses, and Grafana's template
 * variables replaced so promtool can parse the expression.
 */
import { agentMetricFamilies } from '../../backend-agent/src/api/metrics/agent-metrics.js';
import { SpanMetrics } from '../../backend-agent/src/export/span-metrics.js';
import { makeHealth } from '../backend-agent/fixtures/health.js';

/** Every series name a scrape of the agent can contain (histograms expanded into their parts). */
export function exportedMetricNames(): Set<string> {
  const families = [
    ...agentMetricFamilies({ health: makeHealth(), store: { spanCount: 0, sizeBytes: 0 }, requests: [] }),
    ...new SpanMetrics().families(),
  ];
  const names = new Set<string>();
  for (const f of families) {
    if (f.type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(f.name + suffix);
    else names.add(f.name);
  }
  return names;
}

/** Grafana's variables ($__rate_interval, $client, ${server}, ...) made into valid PromQL. */
export function withoutGrafanaVariables(expr: string): string {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, '1m')
    .replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, 'x');
}

// PromQL words that are not metric names.
const KEYWORDS = new Set([
  'sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group',
  'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset',
  'rate', 'irate', 'increase', 'delta', 'idelta', 'histogram_quantile', 'label_replace', 'label_join', 'abs', 'ceil',
  'floor', 'round', 'clamp_min', 'clamp_max', 'clamp', 'vector', 'scalar', 'time', 'absent', 'absent_over_time',
  'sum_over_time', 'avg_over_time', 'max_over_time', 'min_over_time', 'count_over_time', 'last_over_time', 'sort', 'sort_desc',
  'label_values', 'inf', 'nan',
]);

/**
 * Metric names used by an expression: identifiers outside label matchers,
 * grouping clauses, ranges and strings that are not PromQL keywords or functions.
 */
export function metricNamesIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const word = m[0];
    const before = stripped[m.index - 1];
    if (KEYWORDS.has(word.toLowerCase()) || (before !== undefined && /[0-9.]/.test(before))) continue;
    names.add(word);
  }
  return [...names];
}
