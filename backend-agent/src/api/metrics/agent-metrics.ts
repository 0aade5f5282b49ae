/**
 * The agent's /metrics content: capture, pipeline, store and API request
 * metrics. Capture and pipeline values come from the HealthSource (the same
 * numbers /api/health shows); store size and span count are read from the
 * store itself at scrape time.
 */
import type { AgentHealth } from '../../model/health.js';
import type { StoreStats } from '../../store/index.js';
import type { MetricFamily, MetricSample } from './prometheus-text.js';
import type { RequestCount } from './request-counter.js';

function single(name: string, type: MetricFamily['type'], help: string, value: number): MetricFamily {
  return { name, type, help, samples: [{ value }] };
}

function byLabel(label: string, values: Readonly<Record<string, number>>): MetricSample[] {
  return Object.keys(values)
    .sort()
    .map((key) => ({ labels: { [label]: key }, value: values[key]! }));
}

export interface AgentMetricsInput {
  health: AgentHealth;
  store: StoreStats;
  requests: readonly RequestCount[];
}

export function agentMetricFamilies({ health, store, requests }: AgentMetricsInput): MetricFamily[] {
  const { capture, pipeline } = health;
  return [
    single('wiretrace_agent_start_time_seconds', 'gauge', 'Unix time the agent started, in seconds.', health.startedAtUs / 1e6),
    {
      name: 'wiretrace_agent_info',
      type: 'gauge',
      help: 'Agent version; always 1.',
      samples: [{ labels: { version: health.version }, value: 1 }],
    },
    single('wiretrace_agent_degraded', 'gauge', '1 when /api/health reports status "degraded".', health.status === 'ok' ? 0 : 1),
    single('wiretrace_capture_up', 'gauge', '1 when kernel capture is running, 0 otherwise.', capture.state === 'running' ? 1 : 0),
    single('wiretrace_capture_loader_restarts_total', 'counter', 'Times the eBPF loader was restarted.', capture.loaderRestarts),
    {
      name: 'wiretrace_capture_kernel_events_total',
      type: 'counter',
      help: 'Kernel-side capture counters (drops, truncations, filtered events...) from the loader, by counter.',
      samples: byLabel('counter', capture.kernel),
    },
    single('wiretrace_pipeline_events_decoded_total', 'counter', 'Capture records decoded from the loader stream.', pipeline.eventsDecoded),
    single('wiretrace_pipeline_data_events_total', 'counter', 'DATA records (payload chunks) decoded.', pipeline.dataEvents),
    single('wiretrace_pipeline_conn_events_total', 'counter', 'CONN records (connection open/close) decoded.', pipeline.connEvents),
    single('wiretrace_pipeline_framing_errors_total', 'counter', 'Malformed records in the loader stream.', pipeline.framingErrors),
    single('wiretrace_pipeline_stream_gaps_total', 'counter', 'Gaps in connection byte streams the parsers resynchronised over.', pipeline.streamGaps),
    single('wiretrace_pipeline_exchanges_total', 'counter', 'Request/response exchanges parsed.', pipeline.exchanges),
    single(
      'wiretrace_pipeline_spans_dropped_total',
      'counter',
      'Spans dropped because the store could not keep up or could not be written.',
      pipeline.spansDroppedBackpressure,
    ),
    single('wiretrace_pipeline_open_connections', 'gauge', 'Connections currently tracked.', pipeline.openConnections),
    single(
      'wiretrace_pipeline_connections_evicted_total',
      'counter',
      'Connections forgotten because the connection tracker was full (its memory bound).',
      pipeline.connectionsEvicted ?? 0,
    ),
    {
      name: 'wiretrace_parse_errors_total',
      type: 'counter',
      help: 'Bytes the protocol parsers could not make sense of, by protocol.',
      samples: byLabel('protocol', pipeline.parseErrors),
    },
    single('wiretrace_spans_written_total', 'counter', 'Spans written to the store.', pipeline.spansWritten),
    single('wiretrace_store_spans', 'gauge', 'Spans currently in the store.', store.spanCount),
    single('wiretrace_store_size_bytes', 'gauge', 'Size of the store database file in bytes (WAL excluded).', store.sizeBytes),
    single('wiretrace_store_write_error', 'gauge', '1 while writes to the store are failing (see /api/health).', health.store.writeError ? 1 : 0),
    ...samplingAndExportFamilies(health),
    {
      name: 'wiretrace_http_api_requests_total',
      type: 'counter',
      help: 'HTTP API requests served, by route template and status code.',
      samples: requests.map((r) => ({ labels: { route: r.route, code: String(r.code) }, value: r.count })),
    },
  ];
}

/** Sampling and OTLP export counters, present only when those are configured. */
function samplingAndExportFamilies(health: AgentHealth): MetricFamily[] {
  const out: MetricFamily[] = [];
  const sampling = health.sampling;
  if (sampling) {
    out.push(
      {
        name: 'wiretrace_sampling_traces_total',
        type: 'counter',
        help: 'Traces decided by sampling, by decision (kept, dropped).',
        samples: [
          { labels: { decision: 'kept' }, value: sampling.tracesKept },
          { labels: { decision: 'dropped' }, value: sampling.tracesDropped },
        ],
      },
      {
        name: 'wiretrace_sampling_spans_total',
        type: 'counter',
        help: 'Spans decided by sampling, by decision (kept, dropped).',
        samples: [
          { labels: { decision: 'kept' }, value: sampling.spansKept },
          { labels: { decision: 'dropped' }, value: sampling.spansDropped },
        ],
      },
      {
        name: 'wiretrace_sampling_kept_total',
        type: 'counter',
        help: 'Kept trace parts by reason (error, slow, rate, continued).',
        samples: byLabel('reason', sampling.keptByReason),
      },
      single('wiretrace_sampling_buffered_spans', 'gauge', 'Spans waiting in the decision window.', sampling.bufferedSpans),
      single('wiretrace_sampling_forced_decisions_total', 'counter', 'Decision passes forced early by a full window buffer.', sampling.forcedDecisions),
    );
  }
  const otlp = health.export?.otlp;
  if (otlp) {
    out.push(
      single('wiretrace_otlp_spans_exported_total', 'counter', 'Spans accepted by the OTLP endpoint.', otlp.spansExported),
      single('wiretrace_otlp_spans_failed_total', 'counter', 'Spans given up on: rejected, or out of retries.', otlp.spansFailed),
      single('wiretrace_otlp_spans_dropped_total', 'counter', 'Spans dropped from the full export queue (oldest first) or at shutdown.', otlp.spansDropped),
      single('wiretrace_otlp_queue_length', 'gauge', 'Spans waiting for export.', otlp.queueLength),
      single('wiretrace_otlp_requests_total', 'counter', 'Export requests sent, retries included.', otlp.requests),
      single('wiretrace_otlp_retries_total', 'counter', 'Export requests retried after 429/502/503/504 or a network error.', otlp.retries),
      single('wiretrace_otlp_up', 'gauge', '0 while the last export attempt failed.', otlp.lastError ? 0 : 1),
    );
  }
  return out;
}
