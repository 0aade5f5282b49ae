import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { Span } from '../../../backend-agent/src/model/span.js';
import { renderExposition, type MetricFamily, type MetricSample } from '../../../backend-agent/src/api/metrics/prometheus-text.js';
import { SpanMetrics } from '../../../backend-agent/src/export/span-metrics.js';
import { OVERFLOW_LABEL_VALUE } from '../../../backend-agent/src/export/capped-series.js';
import { makeSpan } from '../fixtures/spans.js';

/** One call between two services on this host: the caller's client span and the callee's server span. */
function localCall(client: string, server: string, opts: { status?: number; ms?: number; path?: string } = {}): [Span, Span] {
  const status = opts.status ?? 200;
  const path = opts.path ?? '/items/{id}';
  const attributes = { 'http.request.method': 'GET', 'url.path': path.replace('{id}', '42'), 'http.response.status_code': status };
  const durationNs = (opts.ms ?? 5) * 1e6;
  const clientSpan = makeSpan({
    kind: 'client', service: client, peerService: server, peerLocal: true, name: `GET ${path}`, attributes, durationNs: durationNs + 200_000,
    status: status >= 400 ? 'error' : 'unset',
  });
  const serverSpan = makeSpan({
    kind: 'server', service: server, peerService: client, peerLocal: true, name: `GET ${path}`, attributes, durationNs,
    status: status >= 500 ? 'error' : 'unset',
  });
  return [clientSpan, serverSpan];
}

function family(metrics: SpanMetrics, name: string): MetricFamily {
  const found = metrics.families().find((f) => f.name === name);
  assert.ok(found, `family ${name}`);
  return found;
}

function matches(sample: MetricSample, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => sample.labels?.[k] === v);
}

function value(metrics: SpanMetrics, name: string, labels: Record<string, string>, suffix?: MetricSample['suffix']): number | undefined {
  const hits = family(metrics, name).samples.filter((s) => s.suffix === suffix && matches(s, labels));
  assert.ok(hits.length <= 1, `${name} ${JSON.stringify(labels)} is ambiguous`);
  return hits[0]?.value;
}

const EDGE = (client: string, server: string, connection_type = ''): Record<string, string> => ({ client, server, connection_type });

describe('service-graph metrics', () => {
  test('a call seen from both sides on this host is counted once, in whichever order and batch the sides arrive', () => {
    const metrics = new SpanMetrics();
    const [c1, s1] = localCall('frontend', 'orders');
    const [c2, s2] = localCall('frontend', 'orders');
    metrics.record([c1]);
    metrics.record([s2, s1]);
    metrics.record([c2]);
    assert.equal(value(metrics, 'traces_service_graph_request_total', EDGE('frontend', 'orders')), 2);
    assert.equal(value(metrics, 'traces_service_graph_request_failed_total', EDGE('frontend', 'orders')), 0);
    assert.equal(value(metrics, 'traces_service_graph_request_server_seconds', EDGE('frontend', 'orders'), '_count'), 2);
    assert.equal(value(metrics, 'traces_service_graph_request_client_seconds', EDGE('frontend', 'orders'), '_count'), 2);
    // The reverse direction is not an edge.
    assert.equal(value(metrics, 'traces_service_graph_request_total', EDGE('orders', 'frontend')), undefined);
    assert.equal(family(metrics, 'traces_service_graph_request_total').samples.length, 1);
  });

  test('client and server histograms take each side\'s own duration', () => {
    const metrics = new SpanMetrics();
    metrics.record(localCall('a', 'b', { ms: 30 }));
    assert.equal(value(metrics, 'traces_service_graph_request_server_seconds', EDGE('a', 'b'), '_sum'), 0.03);
    assert.equal(value(metrics, 'traces_service_graph_request_client_seconds', EDGE('a', 'b'), '_sum'), 0.0302);
  });

  test('failed calls are the server side\'s errors: 5xx counts, 4xx does not', () => {
    const metrics = new SpanMetrics();
    metrics.record([...localCall('orders', 'payments', { status: 500 }), ...localCall('orders', 'payments', { status: 402 }), ...localCall('orders', 'payments')]);
    assert.equal(value(metrics, 'traces_service_graph_request_total', EDGE('orders', 'payments')), 3);
    assert.equal(value(metrics, 'traces_service_graph_request_failed_total', EDGE('orders', 'payments')), 1);
  });

  test('one side seen: the peer is a virtual node and the seen side counts the call', () => {
    const metrics = new SpanMetrics();
    const outbound = makeSpan({ kind: 'client', service: 'orders', peerService: '10.0.0.9:5432', peerLocal: false, status: 'error' });
    const inbound = makeSpan({ kind: 'server', service: 'frontend', peerService: '10.1.2.3:51234', peerLocal: false });
    metrics.record([outbound, inbound]);
    assert.equal(value(metrics, 'traces_service_graph_request_total', EDGE('orders', '10.0.0.9:5432', 'virtual_node')), 1);
    assert.equal(value(metrics, 'traces_service_graph_request_failed_total', EDGE('orders', '10.0.0.9:5432', 'virtual_node')), 1);
    assert.equal(value(metrics, 'traces_service_graph_request_client_seconds', EDGE('orders', '10.0.0.9:5432', 'virtual_node'), '_count'), 1);
    // An unseen caller's ephemeral port must never become a label.
    assert.equal(value(metrics, 'traces_service_graph_request_total', EDGE('user', 'frontend', 'virtual_node')), 1);
    const text = renderExposition(metrics.families());
    assert.doesNotMatch(text, /51234/);
  });
});

describe('latency histograms', () => {
  test('buckets are cumulative, a value on a bound falls in that bound\'s bucket, +Inf equals the count', () => {
    const metrics = new SpanMetrics({ buckets: [0.005, 0.01, 0.1] });
    for (const ms of [1, 5, 7, 50, 2000]) metrics.record([localCall('a', 'b', { ms })[1]]);
    const bucket = (le: string): number | undefined =>
      value(metrics, 'traces_service_graph_request_server_seconds', { ...EDGE('a', 'b'), le }, '_bucket');
    assert.deepEqual(['0.005', '0.01', '0.1', '+Inf'].map(bucket), [2, 3, 4, 5]);
    assert.equal(value(metrics, 'traces_service_graph_request_server_seconds', EDGE('a', 'b'), '_count'), 5);
    assert.ok(Math.abs(value(metrics, 'traces_service_graph_request_server_seconds', EDGE('a', 'b'), '_sum')! - 2.063) < 1e-9);
  });
});

describe('RED metrics', () => {
  test('per service, method, normalised route and status code; never the URL path', () => {
    const metrics = new SpanMetrics();
    metrics.record([...localCall('frontend', 'catalog', { status: 404 }), ...localCall('frontend', 'catalog', { status: 503 })]);
    const labels = { service: 'catalog', http_request_method: 'GET', http_route: '/items/{id}' };
    assert.equal(value(metrics, 'http_server_request_duration_seconds', { ...labels, http_response_status_code: '404', error_type: '' }, '_count'), 1);
    assert.equal(value(metrics, 'http_server_request_duration_seconds', { ...labels, http_response_status_code: '503', error_type: '503' }, '_count'), 1);
    assert.equal(
      value(metrics, 'http_client_request_duration_seconds', { service: 'frontend', peer_service: 'catalog', http_route: '/items/{id}', http_response_status_code: '404', error_type: '404' }, '_count'),
      1,
    );
    assert.doesNotMatch(renderExposition(metrics.families()), /\/items\/42/);
  });

  test('unknown methods collapse to _OTHER and a missing response is an incomplete error', () => {
    const metrics = new SpanMetrics();
    metrics.record([
      makeSpan({ service: 'svc', name: 'BREW /pot', attributes: { 'http.request.method': 'BREW' } , status: 'error' }),
    ]);
    assert.equal(
      value(metrics, 'http_server_request_duration_seconds', { service: 'svc', http_request_method: '_OTHER', http_route: '/pot', http_response_status_code: '', error_type: 'incomplete' }, '_count'),
      1,
    );
  });
});

describe('cardinality cap', () => {
  test('past the cap new label sets share one overflow series; totals stay exact and overflows are counted', () => {
    const metrics = new SpanMetrics({ maxSeriesPerMetric: 3 });
    for (let i = 0; i < 10; i++) metrics.record(localCall('frontend', `svc${i}`, { path: `/r${i}` }));
    const totals = family(metrics, 'traces_service_graph_request_total').samples;
    assert.equal(totals.length, 4, '3 series + overflow');
    assert.equal(value(metrics, 'traces_service_graph_request_total', EDGE(OVERFLOW_LABEL_VALUE, OVERFLOW_LABEL_VALUE, OVERFLOW_LABEL_VALUE)), 7);
    assert.equal(totals.reduce((n, s) => n + s.value, 0), 10);
    const routes = new Set(family(metrics, 'http_server_request_duration_seconds').samples.map((s) => s.labels?.['http_route']));
    assert.deepEqual([...routes].sort(), ['/r0', '/r1', '/r2', OVERFLOW_LABEL_VALUE].sort());
    assert.equal(value(metrics, 'wiretrace_span_metrics_overflow_total', { metric: 'traces_service_graph_request_total' }), 7);
    assert.equal(value(metrics, 'wiretrace_span_metrics_overflow_total', { metric: 'http_server_request_duration_seconds' }), 7);
    // Series already known keep counting after the cap is reached.
    metrics.record(localCall('frontend', 'svc0', { path: '/r0' }));
    assert.equal(value(metrics, 'traces_service_graph_request_total', EDGE('frontend', 'svc0')), 2);
  });
});

describe('exposition', () => {
  const promtool = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();
  test('promtool accepts the rendered span metrics', { skip: promtool ? false : 'promtool is not installed (scripts/setup.sh installs it)' }, () => {
    const metrics = new SpanMetrics();
    metrics.record([...localCall('loadgen', 'frontend'), ...localCall('frontend', 'orders', { status: 502 })]);
    metrics.record([makeSpan({ kind: 'client', service: 'orders', peerService: 'db:5432', peerLocal: false })]);
    const text = renderExposition(metrics.families());
    assert.match(text, /^# TYPE traces_service_graph_request_server_seconds histogram$/m);
    assert.match(text, /^traces_service_graph_request_server_seconds_bucket\{client="loadgen",server="frontend",connection_type="",le="\+Inf"\} 1$/m);
    const result = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(result.status, 0, `promtool: ${result.stdout}${result.stderr}`);
  });
});

describe('histogram rendering rules', () => {
  test('a histogram sample must name its part, and a bucket must carry le', () => {
    const base = { name: 'x_seconds', help: 'h', type: 'histogram' as const };
    assert.throws(() => renderExposition([{ ...base, samples: [{ value: 1 }] }]), /suffix none/);
    assert.throws(() => renderExposition([{ ...base, samples: [{ suffix: '_bucket', value: 1 }] }]), /without le/);
    assert.throws(() => renderExposition([{ name: 'y', help: 'h', type: 'gauge', samples: [{ suffix: '_sum', value: 1 }] }]), /does not fit gauge/);
    assert.equal(
      renderExposition([{ ...base, samples: [{ suffix: '_bucket', labels: { le: '+Inf' }, value: 2 }, { suffix: '_count', value: 2 }] }]),
      '# HELP x_seconds h\n# TYPE x_seconds histogram\nx_seconds_bucket{le="+Inf"} 2\nx_seconds_count 2\n',
    );
  });
});
