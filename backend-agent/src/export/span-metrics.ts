/**
 * Metrics derived from every ingested span, for Prometheus to scrape from
 * /metrics: Tempo's service-graph metrics per client -> server edge (see
 * service-graph.ts for how each call is counted once) and OpenTelemetry-style
 * RED histograms per service and route. Alert rules run in Grafana's server,
 * which cannot query the agent's traces, so latency and error alerts are
 * written over these.
 *
 * Every family has its own cap on series (CappedSeries); spans are recorded
 * in the ingest path, so recording is a few map look-ups per span.
 */
import type { Span } from '../model/span.js';
import type { MetricFamily, MetricSample } from '../api/metrics/prometheus-text.js';
import { CappedSeries } from './capped-series.js';
import { Histogram, LATENCY_BUCKETS_SECONDS } from './histogram.js';
import { errorTypeLabel, methodLabel, routeLabel, statusCodeLabel } from './red-labels.js';
import { serviceGraphObservation } from './service-graph.js';
import { DEFAULT_SELF_TIME_OPTIONS, SelfTimeEstimator } from './self-time.js';

export const DEFAULT_MAX_SERIES_PER_METRIC = 2000;

export interface SpanMetricsOptions {
  /** Series per metric family before new label combinations go to the overflow series. */
  maxSeriesPerMetric?: number;
  buckets?: readonly number[];
}

const EDGE_LABELS = ['client', 'server', 'connection_type'] as const;
const SERVER_RED_LABELS = ['service', 'http_request_method', 'http_route', 'http_response_status_code', 'error_type'] as const;
const CLIENT_RED_LABELS = ['service', 'peer_service', 'http_request_method', 'http_route', 'http_response_status_code', 'error_type'] as const;

class Counter {
  value = 0;
}

export class SpanMetrics {
  private readonly requests: CappedSeries<Counter>;
  private readonly failed: CappedSeries<Counter>;
  private readonly serverSeconds: CappedSeries<Histogram>;
  private readonly clientSeconds: CappedSeries<Histogram>;
  private readonly serverSelfSeconds: CappedSeries<Histogram>;
  private readonly selfTime: SelfTimeEstimator;
  private readonly httpServer: CappedSeries<Histogram>;
  private readonly httpClient: CappedSeries<Histogram>;
  private spansRecorded = 0;

  constructor(options: SpanMetricsOptions = {}) {
    const cap = options.maxSeriesPerMetric ?? DEFAULT_MAX_SERIES_PER_METRIC;
    const buckets = options.buckets ?? LATENCY_BUCKETS_SECONDS;
    const histogram = (): Histogram => new Histogram(buckets);
    this.requests = new CappedSeries(EDGE_LABELS, cap, () => new Counter());
    this.failed = new CappedSeries(EDGE_LABELS, cap, () => new Counter());
    this.serverSeconds = new CappedSeries(EDGE_LABELS, cap, histogram);
    this.clientSeconds = new CappedSeries(EDGE_LABELS, cap, histogram);
    this.serverSelfSeconds = new CappedSeries(EDGE_LABELS, cap, histogram);
    this.selfTime = new SelfTimeEstimator((server, seconds) => {
      const edge = serviceGraphObservation(server);
      this.serverSelfSeconds.get([edge.client, edge.server, edge.connectionType]).observe(seconds);
    });
    this.httpServer = new CappedSeries(SERVER_RED_LABELS, cap, histogram);
    this.httpClient = new CappedSeries(CLIENT_RED_LABELS, cap, histogram);
  }

  record(spans: readonly Span[]): void {
    for (const span of spans) this.recordOne(span);
    this.selfTime.add(spans);
  }

  private recordOne(span: Span): void {
    this.spansRecorded += 1;
    const edge = serviceGraphObservation(span);
    const edgeKey = [edge.client, edge.server, edge.connectionType];
    if (edge.countsRequest) {
      this.requests.get(edgeKey).value += 1;
      // Created at 0 with the edge rather than at its first failure, so an
      // error-ratio query has a series for every edge and rate() does not
      // miss the first failure (Prometheus's advice for counters).
      const failed = this.failed.get(edgeKey);
      if (edge.failed) failed.value += 1;
    }
    (edge.side === 'server' ? this.serverSeconds : this.clientSeconds).get(edgeKey).observe(edge.seconds);

    const method = methodLabel(span);
    if (method === undefined) return; // not HTTP: no RED metrics for it (yet)
    const route = routeLabel(span);
    const code = statusCodeLabel(span);
    const errorType = errorTypeLabel(span);
    if (span.kind === 'server') this.httpServer.get([span.service, method, route, code, errorType]).observe(edge.seconds);
    else this.httpClient.get([span.service, span.peerService, method, route, code, errorType]).observe(edge.seconds);
  }

  families(nowUs: number = Date.now() * 1000): MetricFamily[] {
    // Traffic may have stopped: settle what the wall clock says is settled.
    this.selfTime.settle(nowUs - DEFAULT_SELF_TIME_OPTIONS.settleUs);
    const counters: Array<[string, string, CappedSeries<Counter>]> = [
      ['traces_service_graph_request_total', 'Calls between two services, counted once per call (Tempo service-graph semantics).', this.requests],
      ['traces_service_graph_request_failed_total', 'Failed calls between two services: 5xx or no response on the side that counts the call.', this.failed],
    ];
    const histograms: Array<[string, string, CappedSeries<Histogram>]> = [
      ['traces_service_graph_request_server_seconds', 'Call duration seen by the server, in seconds.', this.serverSeconds],
      ['traces_service_graph_request_client_seconds', 'Call duration seen by the client, in seconds.', this.clientSeconds],
      [
        'wiretrace_service_graph_request_server_self_seconds',
        "Call duration seen by the server minus the time it waited on its own outbound calls (the latency the server added), in seconds.",
        this.serverSelfSeconds,
      ],
      ['http_server_request_duration_seconds', 'Duration of HTTP requests served, by service and normalised route, in seconds.', this.httpServer],
      ['http_client_request_duration_seconds', 'Duration of HTTP requests made, by calling service, peer and normalised route, in seconds.', this.httpClient],
    ];
    return [
      ...counters.map(([name, help, series]) => counterFamily(name, help, series)),
      ...histograms.map(([name, help, series]) => histogramFamily(name, help, series)),
      {
        name: 'wiretrace_span_metrics_spans_total',
        type: 'counter',
        help: 'Spans the span metrics were computed from.',
        samples: [{ value: this.spansRecorded }],
      },
      {
        name: 'wiretrace_self_time_estimates_total',
        type: 'counter',
        help: 'Server spans given a self time, by how: linked (children looked for) or evicted (window full, whole duration used).',
        samples: [
          { labels: { result: 'linked' }, value: this.selfTime.settled },
          { labels: { result: 'evicted' }, value: this.selfTime.evicted },
        ],
      },
      {
        name: 'wiretrace_span_metrics_overflow_total',
        type: 'counter',
        help: "Observations recorded in a metric's overflow series because it reached its series cap, by metric.",
        samples: [...counters, ...histograms].map(([metric, , series]) => ({ labels: { metric }, value: series.overflowed })),
      },
    ];
  }
}

function counterFamily(name: string, help: string, series: CappedSeries<Counter>): MetricFamily {
  return { name, help, type: 'counter', samples: series.entries().map(({ labels, value }) => ({ labels, value: value.value })) };
}

function histogramFamily(name: string, help: string, series: CappedSeries<Histogram>): MetricFamily {
  const samples: MetricSample[] = [];
  for (const { labels, value } of series.entries()) samples.push(...value.samples(labels));
  return { name, help, type: 'histogram', samples };
}
