/**
 * The provisioned p95 latency alert, driven by real latency: the demo runs
 * under eBPF capture while this test slows one real service (payments) down
 * and back up (fixtures/slow-python/sitecustomize.py, loaded through
 * PYTHONPATH; the demo itself is unchanged), and the alert's expression is
 * evaluated through the real Prometheus's HTTP API in each phase.
 *
 * The rule's window is a documented parameter (5m in production); here it is
 * set to 15s so each phase fills it in seconds. Everything else in the
 * expression, and the threshold, is read from the provisioned rule file.
 *
 * Calls in the demo are synchronous, so the services that wait on payments
 * (orders, and frontend above it) get slower too: on the p95 latency rule
 * their edges cross with it, as they would in production. The p95 *added*
 * latency rule (the server's self time) crosses for the edge into payments
 * only. Edges that do not wait on payments stay below on both, and every
 * edge comes back below once the latency is gone.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DATASTORES, LOADGEN, SERVICES, edgeKey, edgesFor, ports } from '../../demo/topology.mjs';
import { provisionedAlertQueries, type AlertQuery } from '../provisioning/load-yaml.js';
import { REPO, ebpfUnavailable, requireBuilt, run, startAgent, stop, tempDir, waitFor, type AgentHandle, type RunningProcess } from './helpers.js';
import { PrometheusServer, prometheusUnavailable } from './prometheus-server.js';

const skipReason = ebpfUnavailable() ?? prometheusUnavailable();
const PORT_BASE = Number(process.env.WIRETRACE_IT_PORT_BASE ?? 18380);
const WINDOW_SECONDS = 15;
const INJECTED_MS = 400;
/**
 * Requests per second. Frontend reaches orders through a pool of four
 * keep-alive sockets: at 20 req/s with payments slowed, calls to orders wait
 * for a free socket inside frontend, so frontend really adds latency too and
 * the added-latency rule rightly fires on its edge as well. Below the pool's
 * capacity the slowness has one origin, which is what this test is about.
 */
const RATE = 6;
const DEMO_NAMES = new Set([LOADGEN, ...SERVICES, ...DATASTORES].map((s) => s.expectedName));
const SLOWED_EDGE = 'orders->payments';
const WAITING_ON_IT = ['frontend->orders', 'loadgen->frontend'];
/**
 * The demo's edges in this run (the datastore edges only when the runner
 * could start PostgreSQL and Redis: run.json says), and those that do not
 * wait on payments: every other one. frontend calls catalog and shipping
 * before orders; orders calls inventory and rates before payments and
 * writes to PostgreSQL after it; inventory's catalog and Redis calls come
 * before all that.
 */
let DEMO_EDGES: string[] = [];
let INDEPENDENT: string[] = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('p95 latency alert under injected latency (eBPF, real demo, real Prometheus)', { skip: skipReason }, () => {
  let agent: AgentHandle;
  let prometheus: PrometheusServer;
  let demo: RunningProcess;
  let alert: AlertQuery;
  let expr: string;
  let addedAlert: AlertQuery;
  let addedExpr: string;
  let delayFile: string;
  const phases: Record<string, Map<string, number>> = {};
  const addedPhases: Record<string, Map<string, number>> = {};

  /** The alert expression's value per demo edge, once every demo edge has one. */
  async function evaluate(which: string = expr): Promise<Map<string, number>> {
    const byEdge = await prometheus.byEdge(which, DEMO_NAMES);
    const out = new Map<string, number>();
    for (const [edge, values] of byEdge) {
      assert.equal(values.length, 1, `one series for ${edge}`);
      out.set(edge, values[0]!);
    }
    return out;
  }
  const above = (values: Map<string, number>, edge: string): boolean => (values.get(edge) ?? 0) > alert.threshold.value;
  const addedAbove = (values: Map<string, number>, edge: string): boolean => (values.get(edge) ?? 0) > addedAlert.threshold.value;
  const show = (values: Map<string, number>): string => [...values].map(([e, v]) => `${e} ${(v * 1000).toFixed(1)}ms`).join(', ');

  before(async () => {
    requireBuilt();
    const found = provisionedAlertQueries().find((a) => a.ruleUid === 'wiretrace-edge-p95-latency');
    assert.ok(found, 'the provisioned p95 latency rule');
    alert = found;
    assert.equal(alert.threshold.type, 'gt');
    assert.ok(INJECTED_MS / 1000 > alert.threshold.value, 'the injected latency is above the threshold');
    assert.match(alert.expr, /\[5m\]/);
    expr = alert.expr.replaceAll('[5m]', `[${WINDOW_SECONDS}s]`);
    const added = provisionedAlertQueries().find((a) => a.ruleUid === 'wiretrace-edge-p95-added-latency');
    assert.ok(added, 'the provisioned p95 added-latency rule');
    addedAlert = added;
    assert.ok(INJECTED_MS / 1000 > addedAlert.threshold.value, 'the injected latency is above the added-latency threshold');
    addedExpr = addedAlert.expr.replaceAll('[5m]', `[${WINDOW_SECONDS}s]`);

    agent = await startAgent(Object.values(ports(PORT_BASE)).flatMap((p) => ['--port', String(p)]));
    prometheus = await PrometheusServer.start([new URL(agent.url).host]);
    const dir = tempDir('wiretrace-latency-');
    delayFile = path.join(dir, 'payments-delay-ms');
    fs.writeFileSync(delayFile, '0');
    demo = run(
      'node',
      ['demo/run.mjs', '--load', '--rate', String(RATE), '--duration', '120', '--state-dir', path.join(dir, 'state'), '--port-base', String(PORT_BASE)],
      {
        PYTHONPATH: path.join(REPO, 'test', 'integration', 'fixtures', 'slow-python'),
        WIRETRACE_TEST_SLOW_SCRIPT: 'payments.py',
        WIRETRACE_TEST_SLOW_FILE: delayFile,
      },
    );

    // run.json is written once every service answers, before the load starts.
    const runFile = path.join(dir, 'state', 'run.json');
    const runInfo = await waitFor('the demo to be ready', async () => (fs.existsSync(runFile) ? (JSON.parse(fs.readFileSync(runFile, 'utf8')) as { databases: unknown }) : undefined), 60_000);
    DEMO_EDGES = edgesFor({ databases: Boolean(runInfo.databases) }).map((e) => edgeKey(e.client, e.server)).sort();
    INDEPENDENT = DEMO_EDGES.filter((e) => e !== SLOWED_EDGE && !WAITING_ON_IT.includes(e));
    console.log(`# demo edges: ${DEMO_EDGES.join(', ')}`);

    // Phase 1: normal latency, a full window of it.
    await waitFor('every demo edge in the alert expression', async () => ((await evaluate()).size === DEMO_EDGES.length ? true : undefined), 30_000);
    await sleep(WINDOW_SECONDS * 1000);
    phases['before'] = await evaluate();
    addedPhases['before'] = await evaluate(addedExpr);

    // Phase 2: payments answers INJECTED_MS later; wait until the edge crosses, then for a full window.
    fs.writeFileSync(delayFile, String(INJECTED_MS));
    await waitFor(`${SLOWED_EDGE} to cross the threshold`, async () => (above(await evaluate(), SLOWED_EDGE) ? true : undefined), 60_000);
    await sleep(WINDOW_SECONDS * 1000);
    phases['slow'] = await evaluate();
    addedPhases['slow'] = await evaluate(addedExpr);

    // Phase 3: latency removed; every edge must come back below within a couple of windows.
    fs.writeFileSync(delayFile, '0');
    await waitFor(
      'every edge back below the threshold',
      async () => {
        const now = await evaluate();
        const nowAdded = await evaluate(addedExpr);
        const below = now.size === DEMO_EDGES.length && [...now.keys()].every((e) => !above(now, e));
        const addedBelow = nowAdded.size === DEMO_EDGES.length && [...nowAdded.keys()].every((e) => !addedAbove(nowAdded, e));
        return below && addedBelow ? true : undefined;
      },
      (WINDOW_SECONDS * 3 + 30) * 1000,
    );
    phases['after'] = await evaluate();
    addedPhases['after'] = await evaluate(addedExpr);
    for (const [name, values] of Object.entries(phases)) console.log(`# p95 ${name}: ${show(values)}`);
    for (const [name, values] of Object.entries(addedPhases)) console.log(`# p95 added ${name}: ${show(values)}`);
  });

  after(async () => {
    if (demo) await stop(demo, 15_000);
    if (prometheus) await prometheus.stop();
    if (agent) {
      const code = await stop(agent.proc);
      assert.equal(code, 0, `agent did not shut down cleanly: ${agent.proc.stderr().slice(-2000)}`);
    }
  });

  test('before: every demo edge has one series, all below the threshold', () => {
    const before = phases['before']!;
    assert.deepEqual([...before.keys()].sort(), DEMO_EDGES, show(before));
    for (const [edge, p95] of before) assert.ok(p95 > 0 && !above(before, edge), `${edge}: ${p95}s`);
  });

  test('slowed: the edge into payments crosses the threshold, edges that do not wait on it stay below', () => {
    const slow = phases['slow']!;
    assert.ok(above(slow, SLOWED_EDGE), `${SLOWED_EDGE}: ${slow.get(SLOWED_EDGE)}s`);
    assert.ok(slow.get(SLOWED_EDGE)! >= INJECTED_MS / 1000, 'p95 includes the injected wait');
    for (const edge of INDEPENDENT) assert.ok(!above(slow, edge), `${edge} does not wait on payments: ${slow.get(edge)}s`);
    // Synchronous callers wait for payments, so their edges carry its latency too.
    for (const edge of WAITING_ON_IT) assert.ok(above(slow, edge), `${edge} waits on payments: ${slow.get(edge)}s`);
  });

  test('recovered: with the latency removed, every edge is back below the threshold', () => {
    const after = phases['after']!;
    assert.equal(after.size, DEMO_EDGES.length);
    for (const [edge, p95] of after) assert.ok(!above(after, edge), `${edge}: ${p95}s`);
  });

  test('added latency: before, one series per edge, all below', () => {
    const before = addedPhases['before']!;
    assert.deepEqual([...before.keys()].sort(), DEMO_EDGES, show(before));
    for (const [edge, p95] of before) assert.ok(p95 > 0 && !addedAbove(before, edge), `${edge}: ${p95}s`);
  });

  test('added latency: slowed, the edge into payments crosses and no other edge does', () => {
    const slow = addedPhases['slow']!;
    assert.equal(slow.size, DEMO_EDGES.length, show(slow));
    assert.ok(addedAbove(slow, SLOWED_EDGE), `${SLOWED_EDGE}: ${slow.get(SLOWED_EDGE)}s`);
    for (const [edge, p95] of slow) if (edge !== SLOWED_EDGE) assert.ok(!addedAbove(slow, edge), `${edge} only waits on payments: ${p95}s`);
  });

  test('added latency: recovered, every edge is back below', () => {
    const after = addedPhases['after']!;
    assert.equal(after.size, DEMO_EDGES.length);
    for (const [edge, p95] of after) assert.ok(!addedAbove(after, edge), `${edge}: ${p95}s`);
  });
});
