/**
 * The alerting path, end to end, with nothing mocked: the real loader
 * captures the demo's real services, the agent turns the spans into Tempo
 * service-graph metrics, Debian's real Prometheus scrapes /metrics, and the
 * alert expressions provisioned for Grafana (provisioning/alerting/) are
 * evaluated through Prometheus's HTTP API and checked against the demo's
 * ground truth.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { computeExpectations, type Expectations } from '../../demo/expect.mjs';
import { DATASTORES, LOADGEN, SERVICES, ports } from '../../demo/topology.mjs';
import { provisionedAlertQueries, type AlertQuery } from '../provisioning/load-yaml.js';
import { ebpfUnavailable, requireBuilt, run, startAgent, stop, tempDir, waitFor, type AgentHandle } from './helpers.js';
import { PROMTOOL_BIN, PrometheusServer, prometheusUnavailable } from './prometheus-server.js';

const skipReason = ebpfUnavailable() ?? prometheusUnavailable();
const LOAD_SECONDS = Number(process.env.WIRETRACE_IT_SECONDS ?? 15);
const RATE = 30;
const PORT_BASE = Number(process.env.WIRETRACE_IT_PORT_BASE ?? 18280);
// Every process of the demo, the datastores included (their edges are in
// expectations.edges only when the runner could start them; psql, which
// creates the schema, is not a demo process).
const DEMO_NAMES = new Set([LOADGEN, ...SERVICES, ...DATASTORES].map((s) => s.expectedName));

describe('Prometheus scrapes the agent (eBPF, real demo, real Prometheus)', { skip: skipReason }, () => {
  let agent: AgentHandle;
  let prometheus: PrometheusServer;
  let expectations: Expectations;
  let alerts: AlertQuery[];

  const query = (expr: string): ReturnType<PrometheusServer['query']> => prometheus.query(expr);
  /** Results on demo edges only (other processes on the host may talk too). */
  const byDemoEdge = (expr: string): Promise<Map<string, number[]>> => prometheus.byEdge(expr, DEMO_NAMES);

  before(async () => {
    requireBuilt();
    alerts = provisionedAlertQueries();
    // Only this demo's ports: other tests on the host (or another demo run)
    // would otherwise add their calls to the same service names.
    agent = await startAgent(Object.values(ports(PORT_BASE)).flatMap((p) => ['--port', String(p)]));
    prometheus = await PrometheusServer.start([new URL(agent.url).host]);

    const stateDir = tempDir('wiretrace-demo-');
    const demo = run('node', ['demo/run.mjs', '--load', '--rate', String(RATE), '--duration', String(LOAD_SECONDS), '--state-dir', stateDir, '--port-base', String(PORT_BASE)]);
    assert.equal(await demo.exited, 0, `demo run failed: ${demo.stderr()}`);
    expectations = computeExpectations(stateDir);
    assert.ok(expectations.ok, `demo ground truth is inconsistent: ${expectations.problems.join('; ')}`);

    // Spans are written on the agent's one-second tick and scraped every second:
    // wait until every demo edge's count has stopped moving (two equal polls
    // a scrape apart) and the entry edge is nearly complete.
    const target = expectations.counts['loadgen->frontend']!;
    let last = '';
    await waitFor('Prometheus to hold the final counts', async () => {
      const counts = await byDemoEdge('sum by (client, server) (traces_service_graph_request_total)');
      const snapshot = JSON.stringify([...counts.entries()].sort());
      const settled = snapshot === last && (counts.get('loadgen->frontend')?.[0] ?? 0) >= target * 0.99;
      last = snapshot;
      if (!settled) await new Promise((r) => setTimeout(r, 1000));
      return settled ? true : undefined;
    }, 45_000);
  });

  after(async () => {
    if (prometheus) await prometheus.stop();
    if (agent) {
      const code = await stop(agent.proc);
      assert.equal(code, 0, `agent did not shut down cleanly: ${agent.proc.stderr().slice(-2000)}`);
    }
  });

  test('the scrape target is up and promtool accepts the live /metrics', async () => {
    const up = await query('up{job="wiretrace-agent"}');
    assert.equal(up.length, 1);
    assert.equal(up[0]!.value[1], '1');
    const text = await (await fetch(`${agent.url}/metrics`)).text();
    const result = spawnSync(PROMTOOL_BIN!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(result.status, 0, `promtool check metrics: ${result.stdout}${result.stderr}`);
  });

  test('traces_service_graph_request_total counts every demo edge once per call, within 1% of the ground truth', async () => {
    const counts = await byDemoEdge('sum by (client, server) (traces_service_graph_request_total)');
    const report: string[] = [];
    for (const e of expectations.edges) {
      const key = `${e.client}->${e.server}`;
      const got = counts.get(key)?.[0];
      assert.ok(got !== undefined, `edge ${key} missing from Prometheus (${[...counts.keys()].join(', ')})`);
      report.push(`${key} ${got}/${e.calls}`);
      assert.ok(Math.abs(got - e.calls) / e.calls <= 0.01, `edge ${key}: ${got} in Prometheus vs ${e.calls} sent`);
    }
    // Only the designed edges: no reversed or invented ones between demo services.
    assert.equal(counts.size, expectations.edges.length, `demo edges in Prometheus: ${[...counts.keys()].join(', ')}`);
    console.log(`# service-graph counts (captured/sent): ${report.join(', ')}`);
  });

  test('failed counts match the ground truth\'s 5xx per edge', async () => {
    const failed = await byDemoEdge('sum by (client, server) (traces_service_graph_request_failed_total)');
    for (const e of expectations.edges) {
      const got = failed.get(`${e.client}->${e.server}`)?.[0];
      assert.ok(got !== undefined, `failed series for ${e.client}->${e.server}`);
      assert.ok(Math.abs(got - e.errors) <= Math.max(1, e.errors * 0.01), `${e.client}->${e.server}: ${got} failed vs ${e.errors} 5xx sent`);
    }
  });

  test('both latency histograms and the RED histograms have series for the demo', async () => {
    for (const metric of ['traces_service_graph_request_server_seconds_count', 'traces_service_graph_request_client_seconds_count']) {
      const series = await byDemoEdge(`sum by (client, server) (${metric})`);
      for (const e of expectations.edges) assert.ok(series.has(`${e.client}->${e.server}`), `${metric} for ${e.client}->${e.server}`);
    }
    // Routes are normalised operations: catalog's item ids collapse into one route.
    const routes = (await query('sum by (http_route) (http_server_request_duration_seconds_count{service="catalog"})')).map((r) => r.metric['http_route']);
    assert.ok(routes.includes('/items/{id}') && routes.includes('/items'), `catalog routes: ${routes.join(', ')}`);
    assert.ok(routes.every((r) => !/\/\d+(\/|$)/.test(r ?? '')), `no raw ids in routes: ${routes.join(', ')}`);
  });

  test('each provisioned alert expression returns exactly one series per demo edge', async () => {
    assert.ok(alerts.length >= 2);
    for (const alert of alerts) {
      const series = await byDemoEdge(alert.expr);
      for (const e of expectations.edges) {
        const values = series.get(`${e.client}->${e.server}`);
        assert.equal(values?.length, 1, `${alert.ruleUid}: one series for ${e.client}->${e.server}, got ${JSON.stringify(values)}`);
        assert.ok(Number.isFinite(values[0]), `${alert.ruleUid} ${e.client}->${e.server}: ${values[0]}`);
      }
      assert.equal(series.size, expectations.edges.length, `${alert.ruleUid}: ${[...series.keys()].join(', ')}`);
    }
  });

  test('both latency alerts stay below their threshold for the demo\'s millisecond calls', async () => {
    for (const uid of ['wiretrace-edge-p95-latency', 'wiretrace-edge-p95-added-latency']) {
      const latency = alerts.find((a) => a.ruleUid === uid);
      assert.ok(latency, uid);
      const series = await byDemoEdge(latency.expr);
      for (const [edge, [p95]] of series) {
        assert.ok(p95! > 0 && p95! < latency.threshold.value, `${uid} ${edge}: p95 ${p95}s vs threshold ${latency.threshold.value}s`);
      }
    }
  });

  test('the error-ratio alert crosses its threshold exactly on the edges whose ground-truth error ratio does', async () => {
    const ratioAlert = alerts.find((a) => a.ruleUid === 'wiretrace-edge-error-ratio');
    assert.ok(ratioAlert);
    assert.equal(ratioAlert.threshold.type, 'gt');
    const series = await byDemoEdge(ratioAlert.expr);
    const firing: string[] = [];
    for (const e of expectations.edges) {
      const key = `${e.client}->${e.server}`;
      const ratio = series.get(key)![0]!;
      const truth = e.errors / e.calls;
      // rate() sees the increase after the first scrape only, so allow a little.
      assert.ok(Math.abs(ratio - truth) <= 0.03, `${key}: error ratio ${ratio.toFixed(3)} vs ${truth.toFixed(3)} sent`);
      if (Math.abs(truth - ratioAlert.threshold.value) > 0.03) {
        assert.equal(ratio > ratioAlert.threshold.value, truth > ratioAlert.threshold.value, `${key} fires iff the ground truth is above the threshold`);
      }
      if (ratio > ratioAlert.threshold.value) firing.push(key);
    }
    assert.ok(firing.includes('orders->payments'), `payments' 500s fire the alert: ${firing.join(', ')}`);
    assert.ok(!firing.includes('inventory->catalog'), 'inventory -> catalog never fails');
    console.log(`# error-ratio alert fires for: ${firing.join(', ')}`);
  });
});
