/**
 * Builds the trace-to-logs / trace-to-metrics settings from the few fields
 * the config editor asks for. Spans carry `service.name` as a process tag
 * (frames/trace-frame.ts), which becomes the label filter in the target.
 */
import type { TracesToLogsSettings, TracesToMetricsSettings, WiretraceOptions } from '../types';

const SERVICE_TAG = { key: 'service.name', value: 'service_name' };

export function withLogsLink(options: WiretraceOptions, datasourceUid: string): WiretraceOptions {
  const next: WiretraceOptions = { ...options };
  const uid = datasourceUid.trim();
  if (uid === '') {
    delete next.tracesToLogsV2;
    return next;
  }
  const logs: TracesToLogsSettings = { datasourceUid: uid, tags: [SERVICE_TAG], filterByTraceID: true, filterBySpanID: false, customQuery: false };
  next.tracesToLogsV2 = logs;
  return next;
}

/** `query` may use Grafana's `$__tags` (the label filter built from the span's tags). */
export function withMetricsLink(options: WiretraceOptions, datasourceUid: string, query: string): WiretraceOptions {
  const next: WiretraceOptions = { ...options };
  const uid = datasourceUid.trim();
  if (uid === '') {
    delete next.tracesToMetrics;
    return next;
  }
  const metrics: TracesToMetricsSettings = {
    datasourceUid: uid,
    tags: [SERVICE_TAG],
    queries: query.trim() === '' ? [] : [{ name: 'Service metrics', query: query.trim() }],
  };
  next.tracesToMetrics = metrics;
  return next;
}
