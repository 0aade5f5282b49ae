/**
 * The panels on live capture: the demo's real processes talk over loopback
 * while the real loader and agent capture them with eBPF; the built plugin is
 * loaded into the preview page in Debian's Chromium (the way Grafana loads
 * plugins) and what it draws is checked against the demo's ground truth:
 * one node per service that called or was called, one edge per demo call
 * path, latency on every edge label, an edge click that leads to that edge's
 * traces, and a waterfall with one row per span of a captured trace.
 * Screenshots go to test/output/ (CI artifacts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { computeExpectations, type Expectations } from '../../demo/expect.mjs';
import { ports } from '../../demo/topology.mjs';
import { ebpfUnavailable, getJson, requireBuilt, run, startAgent, stop, tempDir, type AgentHandle } from './helpers.js';
import { browserUnavailable, ensurePluginBuilt, launchBrowser, openPreview, OUTPUT_DIR, startPreview, type Browser, type Preview, type PreviewState } from '../panels/fixtures/browser.js';

interface LoadgenRequest {
  route: string;
  traceId: string | null;
  status: number | null;
}

const skipReason = ebpfUnavailable() ?? browserUnavailable();
const LOAD_SECONDS = 12;
const RATE = 20;
const PORT_BASE = Number(process.env.WIRETRACE_DEMO_PANELS_PORT_BASE ?? 18600);
const DEMO_PORTS = Object.values(ports(PORT_BASE)).map(String);
/**
 * Real clients of the demo's servers that are not in its call graph: the
 * runner probing /healthz while it starts the services (its process is named
 * "demo") and psql setting up the PostgreSQL schema. The map rightly shows them.
 */
const RUNNER_CLIENTS = ['demo', 'psql'];
/** What each demo server speaks (demo/README.md). */
const protocolOf = (server: string): string => ({ shipping: 'grpc', postgres: 'postgresql', 'redis-server': 'redis' })[server] ?? 'http/1.1';

describe('panels on live capture of the demo (eBPF, Chromium)', { skip: skipReason }, () => {
  let agent: AgentHandle;
  let expectations: Expectations;
  let requests: LoadgenRequest[];
  let preview: Preview;
  let browser: Browser;
  let mapUrl: string;

  before(async () => {
    requireBuilt();
    fs.mkdirSync(OUTPUT_DIR, { recursive: true });
    const [, , b] = await Promise.all([
      ensurePluginBuilt('servicemap').then(() => ensurePluginBuilt('waterfall')),
      (async () => {
        agent = await startAgent(DEMO_PORTS.flatMap((p) => ['--port', p]));
      })(),
      launchBrowser(),
    ]);
    browser = b;
    const startMs = Date.now();
    const stateDir = tempDir('wiretrace-demo-panels-');
    const demo = run('node', ['demo/run.mjs', '--load', '--rate', String(RATE), '--duration', String(LOAD_SECONDS), '--state-dir', stateDir, '--port-base', String(PORT_BASE)]);
    const code = await demo.exited;
    assert.equal(code, 0, `demo run failed: ${demo.stderr()}`);
    expectations = computeExpectations(stateDir);
    assert.ok(expectations.ok, `demo ground truth is inconsistent: ${expectations.problems.join('; ')}`);
    requests = (JSON.parse(fs.readFileSync(path.join(stateDir, 'loadgen.json'), 'utf8')) as { requests: LoadgenRequest[] }).requests;
    // Spans are written by the agent's one-second tick; give it a few.
    await new Promise((r) => setTimeout(r, 4000));
    preview = await startPreview(agent.url);
    mapUrl = `${preview.url}?panel=servicemap&from=${startMs - 60_000}&to=${Date.now() + 60_000}`;
  });

  after(async () => {
    await browser?.close();
    await preview?.stop();
    if (agent) await stop(agent.proc);
  });

  function open(query: string): Promise<Page> {
    return openPreview(browser, `${mapUrl}${query}`);
  }

  test('the service map draws one node per demo service and one edge per demo call path, each carrying its latency and protocol', async () => {
    const expectedEdges = expectations.edges.map((e) => `${e.client}->${e.server}`).sort();
    for (const theme of ['dark', 'light']) {
      const page = await open(`&theme=${theme}`);
      await page.waitForSelector('[data-testid="servicemap-edge"]');
      // Before asserting, so a failure leaves its picture behind.
      await page.screenshot({ path: path.join(OUTPUT_DIR, `demo-servicemap-${theme}.png`) });
      const nodes = await page.$$eval('[data-testid="servicemap-node"]', (els) => els.map((e) => e.getAttribute('data-node') ?? ''));
      const edges = await page.$$eval('[data-testid="servicemap-edge"]', (els) =>
        els.map((e) => ({ key: `${e.getAttribute('data-client')}->${e.getAttribute('data-server')}`, protocol: e.getAttribute('data-protocol'), aria: e.getAttribute('aria-label') ?? '' })),
      );
      const drawn = new Map(edges.map((e) => [e.key, e]));
      // Every demo call path, and besides them only the runner's own clients of demo servers.
      for (const key of expectedEdges) assert.ok(drawn.has(key), `edge ${key} drawn (edges: ${[...drawn.keys()].join(', ')})`);
      const extra = [...drawn.keys()].filter((k) => !expectedEdges.includes(k));
      for (const key of extra) assert.ok(RUNNER_CLIENTS.includes(key.split('->')[0]!), `unexpected edge ${key}`);
      const expectedNodes = [...new Set([...expectedEdges, ...extra].flatMap((k) => k.split('->')))].sort();
      assert.deepEqual([...nodes].sort(), expectedNodes, 'one node per service that called or was called');
      for (const e of expectations.edges) {
        const edge = drawn.get(`${e.client}->${e.server}`)!;
        assert.equal(edge.protocol, protocolOf(e.server), `protocol of ${edge.key}`);
        assert.match(edge.aria, /p95 \d+(\.\d+)? (µs|ms|s)/, `latency of ${edge.key}`);
      }
      // Labels are drawn where they fit at this zoom; each one drawn leads with the edge's p95.
      const labels = await page.$$eval('[data-testid="servicemap-edge-label"]', (els) =>
        Object.fromEntries(els.map((e) => [`${e.getAttribute('data-client')}->${e.getAttribute('data-server')}`, e.textContent ?? ''])),
      );
      const labelled = expectedEdges.filter((k) => labels[k] !== undefined);
      assert.ok(labelled.length >= expectedEdges.length / 2, `${labelled.length} of ${expectedEdges.length} demo edges labelled at fit`);
      for (const key of labelled) assert.match(labels[key]!, /^p95 \d+(\.\d+)? (µs|ms|s)/, `label of ${key}`);
      console.log(`# ${theme}: ${nodes.length} nodes, ${edges.length} edges (${extra.length} from the runner: ${extra.join(', ')}); ${labelled.length} demo edges labelled at fit`);
      await page.close();
    }
  });

  test('a click on an edge leads to that edge\'s traces', async () => {
    const page = await open('&theme=dark');
    // Where the edge has a label, the label is what the pointer lands on (it carries the same handlers).
    const label = page.locator('[data-testid="servicemap-edge-label"][data-client="orders"][data-server="payments"]');
    if ((await label.count()) > 0) await label.click();
    else await page.locator('[data-testid="servicemap-edge"][data-client="orders"][data-server="payments"]').click();
    await page.waitForFunction(() => (window as unknown as { wiretracePreview: PreviewState }).wiretracePreview.navigations.length > 0);
    const url = new URL(page.url());
    assert.equal(url.searchParams.get('wiretrace-client'), 'orders');
    assert.equal(url.searchParams.get('wiretrace-server'), 'payments');
    await page.close();
    const endUs = (Date.now() + 60_000) * 1000;
    const { body } = await getJson<{ traces: Array<{ services: string[] }> }>(
      `${agent.url}/api/v1/traces?service=${url.searchParams.get('wiretrace-server')}&limit=20&start=0&end=${endUs}`,
    );
    const edgeTraces = body.traces.filter((t) => t.services.includes('orders') && t.services.includes('payments'));
    assert.ok(edgeTraces.length >= 1, `traces through orders -> payments: ${edgeTraces.length}`);
  });

  test('the waterfall of a captured checkout has one row per span the agent returns', async () => {
    const checkout = requests.find((r) => r.traceId && r.route === '/checkout' && r.status === 200);
    assert.ok(checkout?.traceId, 'a successful checkout with traceparent');
    const { body } = await getJson<{ spans: Array<{ spanId: string; kind: string }> }>(`${agent.url}/api/v1/traces/${checkout.traceId}`);
    assert.ok(body.spans.length >= 10, `${body.spans.length} spans in the checkout`);
    const page = await openPreview(browser, `${preview.url}?panel=waterfall&theme=dark&traceId=${checkout.traceId}`);
    await page.waitForSelector('[data-testid="waterfall-row"]');
    assert.equal(await page.locator('[data-testid="waterfall-row"]').count(), body.spans.length);
    const drawn = await page.$$eval('[data-testid="waterfall-row"]', (els) => els.map((e) => e.getAttribute('data-span') ?? ''));
    assert.deepEqual([...drawn].sort(), body.spans.map((s) => s.spanId).sort());
    assert.ok((await page.locator('[data-testid="waterfall-gap-label"]').count()) >= 1, 'network gaps labelled');
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'demo-waterfall-dark.png') });
    await page.close();
  });
});
