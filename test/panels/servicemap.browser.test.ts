/**
 * The built service map panel (dist/panels/servicemap/module.js) loaded into
 * the preview page in real headless Chromium, the way Grafana loads plugins
 * (AMD, shared libraries as externals), fed by the data source's own query
 * code from a real agent seeded with a known capture through --replay.
 * Asserts on what is drawn; saves light and dark screenshots to test/output/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startReplayAgent, type ReplayAgent } from '../datasource/fixtures/replay-agent.js';
import { tempDir } from '../integration/helpers.js';
import { browserUnavailable, ensurePluginBuilt, launchBrowser, OUTPUT_DIR, startPreview, type Browser, type Preview } from './fixtures/browser.js';
import { CALLS, EXTERNAL_PEER, SERVICES, SPAN_COUNT, writeCapture } from './fixtures/servicemap-scenario.js';

const skip = browserUnavailable();
const EXTERNAL = `${EXTERNAL_PEER.address}:${EXTERNAL_PEER.port}`;
/** Distinct caller -> callee pairs of the scenario, the callee named as the agent names an uncaptured peer. */
const EDGES = [...new Set(CALLS.map((c) => `${c.caller!.comm}->${c.callee?.comm ?? EXTERNAL}`))].sort();

interface PreviewState {
  status: string;
  error?: string;
  navigations: string[];
}

describe('service map and waterfall panels in Chromium', { skip }, () => {
  let dir: string;
  let agent: ReplayAgent;
  let preview: Preview;
  let browser: Browser;
  let base: string;

  before(async () => {
    dir = tempDir('wiretrace-panels-');
    fs.mkdirSync(OUTPUT_DIR, { recursive: true });
    const now = Date.now();
    const baseMs = now - 120_000 - (now % 1000);
    const [, , built] = await Promise.all([
      (async () => {
        agent = await startReplayAgent(writeCapture(dir, baseMs), SPAN_COUNT);
      })(),
      launchBrowser().then((b) => (browser = b)),
      ensurePluginBuilt('servicemap').then(() => ensurePluginBuilt('waterfall')),
    ]);
    void built;
    preview = await startPreview(agent.url);
    base = `${preview.url}?panel=servicemap&from=${baseMs - 600_000}&to=${baseMs + 600_000}`;
  });

  after(async () => {
    await browser?.close();
    await preview?.stop();
    await agent?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  async function open(query: string): Promise<Page> {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}${query}`);
    await page.waitForFunction(() => {
      const s = (window as unknown as { wiretracePreview?: PreviewState }).wiretracePreview;
      return s !== undefined && s.status !== 'loading';
    });
    const state = await page.evaluate(() => (window as unknown as { wiretracePreview: PreviewState }).wiretracePreview);
    assert.equal(state.status, 'ready', `preview failed: ${state.error ?? ''} ${errors.join('; ')}`);
    assert.deepEqual(errors, []);
    return page;
  }

  test('draws one node per service plus the external peer, and one edge per distinct call pair', async () => {
    const page = await open('&theme=dark');
    await page.waitForSelector('[data-testid="servicemap"]');
    const nodes = await page.$$eval('[data-testid="servicemap-node"]', (els) => els.map((e) => [e.getAttribute('data-node'), e.getAttribute('data-external')]));
    assert.equal(nodes.length, SERVICES.length + 1);
    assert.deepEqual(nodes.map(([n]) => n).sort(), [...SERVICES, EXTERNAL].sort());
    assert.deepEqual(nodes.filter(([, ext]) => ext === 'true').map(([n]) => n), [EXTERNAL]);
    const edges = await page.$$eval('[data-testid="servicemap-edge"]', (els) =>
      els.map((e) => `${e.getAttribute('data-client')}->${e.getAttribute('data-server')}`),
    );
    assert.equal(edges.length, EDGES.length);
    assert.deepEqual([...edges].sort(), EDGES);
    // Visibly distinct: external peers are drawn with a dashed outline, services solid.
    const dashes = await page.$$eval('[data-testid="servicemap-node"] rect', (els) => els.map((e) => e.getAttribute('stroke-dasharray')));
    assert.equal(dashes.filter((d) => d !== null).length, 1);
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'servicemap-dark.png') });
    await page.close();
  });

  test('edge labels carry the p95 latency the agent measured (client side)', async () => {
    const page = await open('&theme=light');
    await page.waitForSelector('[data-testid="servicemap-edge-label"]');
    const labels = await page.$$eval('[data-testid="servicemap-edge"]', (els) =>
      Object.fromEntries(els.map((e) => [`${e.getAttribute('data-client')}->${e.getAttribute('data-server')}`, e.textContent ?? ''])),
    );
    for (const edge of EDGES) assert.match(labels[edge] ?? '', /^p95 \d+(\.\d+)? ms/, `label of ${edge}`);
    // Nearest-rank p95 of the two frontend->orders calls (3 ms and 31 ms) is 31 ms; one of two failed.
    assert.match(labels['frontend->orders']!, /^p95 31 ms.*50% err/);
    assert.match(labels['orders->inventory']!, /^p95 2\.5 ms/);
    assert.match(labels[`frontend->${EXTERNAL}`]!, /^p95 12 ms/);
    // The 50% error edge crosses the default 5% critical threshold; a raised threshold clears it.
    assert.equal(await page.getAttribute('[data-client="frontend"][data-server="orders"]', 'data-severity'), 'crit');
    assert.equal(await page.getAttribute('[data-client="orders"][data-server="payments"]', 'data-severity'), 'ok');
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'servicemap-light.png') });
    await page.close();
    const relaxed = await open('&theme=light&opt.errorWarnRatio=0.9&opt.errorCritRatio=0.95&opt.latencyWarnMs=20');
    await relaxed.waitForSelector('[data-testid="servicemap-edge"]');
    // 31 ms p95 is now over the 20 ms latency warning, and 50% errors under both error thresholds.
    assert.equal(await relaxed.getAttribute('[data-client="frontend"][data-server="orders"]', 'data-severity'), 'warn');
    await relaxed.close();
  });

  test('hovering an edge shows its details; clicking it navigates to its traces with client and server', async () => {
    const page = await open('&theme=dark');
    const edge = page.locator('[data-client="frontend"][data-server="orders"]');
    await edge.locator('[data-testid="servicemap-edge-label"]').hover();
    const tooltip = page.locator('[data-testid="servicemap-tooltip"]');
    await tooltip.waitFor();
    const text = (await tooltip.textContent()) ?? '';
    assert.match(text, /frontend → orders/);
    assert.match(text, /Calls\s*2/);
    assert.match(text, /Errors\s*1/);
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'servicemap-hover-dark.png') });
    await edge.locator('[data-testid="servicemap-edge-label"]').click();
    await page.waitForFunction(() => (window as unknown as { wiretracePreview: PreviewState }).wiretracePreview.navigations.length > 0);
    const url = new URL(page.url());
    assert.equal(url.pathname, '/explore');
    assert.equal(url.searchParams.get('wiretrace-client'), 'frontend');
    assert.equal(url.searchParams.get('wiretrace-server'), 'orders');
    // The link leads to traces: the agent has traces for that server among the scenario's calls.
    const res = await fetch(`${agent.url}/api/v1/traces?service=${url.searchParams.get('wiretrace-server')}&limit=20&start=0&end=${(Date.now() + 60_000) * 1000}`);
    const body = (await res.json()) as { traces: Array<{ services: string[] }> };
    // The agent joined each call's client and server sides: one trace per call along the edge.
    const edgeTraces = body.traces.filter((t) => t.services.includes('frontend') && t.services.includes('orders'));
    assert.equal(edgeTraces.length, CALLS.filter((c) => c.caller?.comm === 'frontend' && c.callee?.comm === 'orders').length);
    await page.close();
  });

  test('clicking a node navigates to the traces of that service', async () => {
    const page = await open('&theme=dark');
    await page.locator('[data-testid="servicemap-node"][data-node="payments"]').click();
    await page.waitForFunction(() => (window as unknown as { wiretracePreview: PreviewState }).wiretracePreview.navigations.length > 0);
    const url = new URL(page.url());
    assert.equal(url.pathname, '/explore');
    assert.equal(url.searchParams.get('wiretrace-service'), 'payments');
    await page.close();
  });

  test('waterfall panel: one row per span of the trace, client and server sides both drawn', async () => {
    const list = (await (await fetch(`${agent.url}/api/v1/traces?service=orders&limit=50&start=0&end=${(Date.now() + 60_000) * 1000}`)).json()) as {
      traces: Array<{ traceId: string; services: string[]; spanCount: number }>;
    };
    // The trace of frontend -> orders (the 500): both sides of the call were captured.
    const trace = list.traces.find((t) => t.services.includes('frontend') && t.services.includes('orders'));
    assert.ok(trace, 'a frontend -> orders trace');
    const spans = ((await (await fetch(`${agent.url}/api/v1/traces/${trace.traceId}`)).json()) as { spans: unknown[] }).spans;
    assert.ok(spans.length >= 2);
    const page = await browser.context.newPage();
    await page.goto(`${preview.url}?panel=waterfall&theme=dark&traceId=${trace.traceId}`);
    await page.waitForSelector('[data-testid="waterfall-row"]');
    assert.equal(await page.locator('[data-testid="waterfall-row"]').count(), spans.length);
    const kinds = await page.$$eval('[data-testid="waterfall-row"]', (els) => els.map((e) => e.getAttribute('data-kind')));
    assert.ok(kinds.includes('client') && kinds.includes('server'), `kinds ${kinds.join(',')}`);
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'waterfall-dark.png') });
    await page.close();
  });

  test('frames that are not a service graph get a clear message, not a broken map', async () => {
    const page = await open('&theme=dark&query=search');
    const msg = await page.locator('[data-testid="servicemap-message"]').textContent();
    assert.match(msg ?? '', /draws a service graph/);
    assert.equal(await page.locator('[data-testid="servicemap-node"]').count(), 0);
    await page.close();
  });
});
