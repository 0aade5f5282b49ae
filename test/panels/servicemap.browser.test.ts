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
import { browserUnavailable, ensurePluginBuilt, launchBrowser, openPreview, OUTPUT_DIR, startPreview, type Browser, type Preview, type PreviewState } from './fixtures/browser.js';
import { CALLS, EXTERNAL_PEER, SERVICES, SPAN_COUNT, writeCapture } from './fixtures/servicemap-scenario.js';

const skip = browserUnavailable();
const EXTERNAL = `${EXTERNAL_PEER.address}:${EXTERNAL_PEER.port}`;
/** Distinct caller -> callee pairs of the scenario, the callee named as the agent names an uncaptured peer. */
const EDGES = [...new Set(CALLS.map((c) => `${c.caller!.comm}->${c.callee?.comm ?? EXTERNAL}`))].sort();

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

  function open(query: string): Promise<Page> {
    return openPreview(browser, `${base}${query}`);
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
    // The agent labels each edge with the protocol its calls used (the replayed capture is HTTP/1.1).
    const protocols = await page.$$eval('[data-testid="servicemap-edge"]', (els) => els.map((e) => e.getAttribute('data-protocol')));
    assert.deepEqual([...new Set(protocols)], ['http/1.1']);
    // Visibly distinct: external peers are drawn with a dashed outline, services solid.
    const dashes = await page.$$eval('[data-testid="servicemap-node"] rect', (els) => els.map((e) => e.getAttribute('stroke-dasharray')));
    assert.equal(dashes.filter((d) => d !== null).length, 1);
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'servicemap-dark.png') });
    await page.close();
  });

  test('edge labels carry the p95 latency the agent measured (client side)', async () => {
    const page = await open('&theme=light');
    await page.waitForSelector('[data-testid="servicemap-edge-label"]');
    // Labels are drawn in their own layer (constant on-screen size), each tagged with its call's client and server.
    const labels = await page.$$eval('[data-testid="servicemap-edge-label"]', (els) =>
      Object.fromEntries(els.map((e) => [`${e.getAttribute('data-client')}->${e.getAttribute('data-server')}`, e.textContent ?? ''])),
    );
    for (const edge of EDGES) assert.match(labels[edge] ?? '', /^p95 \d+(\.\d+)? ms/, `label of ${edge}`);
    // Nearest-rank p95 of the two frontend->orders calls (3 ms and 31 ms) is 31 ms; one of two failed.
    assert.match(labels['frontend->orders']!, /^p95 31 ms.*50% err/);
    assert.match(labels['orders->inventory']!, /^p95 2\.5 ms/);
    assert.match(labels[`frontend->${EXTERNAL}`]!, /^p95 12 ms/);
    // The 50% error edge crosses the default 5% critical threshold; a raised threshold clears it.
    assert.equal(await page.getAttribute('[data-testid="servicemap-edge"][data-client="frontend"][data-server="orders"]', 'data-severity'), 'crit');
    assert.equal(await page.getAttribute('[data-testid="servicemap-edge"][data-client="orders"][data-server="payments"]', 'data-severity'), 'ok');
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'servicemap-light.png') });
    await page.close();
    const relaxed = await open('&theme=light&opt.errorWarnRatio=0.9&opt.errorCritRatio=0.95&opt.latencyWarnMs=20');
    await relaxed.waitForSelector('[data-testid="servicemap-edge"]');
    // 31 ms p95 is now over the 20 ms latency warning, and 50% errors under both error thresholds.
    assert.equal(await relaxed.getAttribute('[data-testid="servicemap-edge"][data-client="frontend"][data-server="orders"]', 'data-severity'), 'warn');
    await relaxed.close();
  });

  test('hovering an edge shows its details; clicking it navigates to its traces with client and server', async () => {
    const page = await open('&theme=dark');
    const label = page.locator('[data-testid="servicemap-edge-label"][data-client="frontend"][data-server="orders"]');
    await label.hover();
    const tooltip = page.locator('[data-testid="servicemap-tooltip"]');
    await tooltip.waitFor();
    const text = (await tooltip.textContent()) ?? '';
    assert.match(text, /frontend → orders/);
    assert.match(text, /Calls\s*2/);
    assert.match(text, /Errors\s*1/);
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'servicemap-hover-dark.png') });
    await label.click();
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

  test('waterfall panel: one row per span of the trace, client and server sides, network gap and inferred links drawn', async () => {
    const list = (await (await fetch(`${agent.url}/api/v1/traces?service=orders&limit=50&start=0&end=${(Date.now() + 60_000) * 1000}`)).json()) as {
      traces: Array<{ traceId: string; services: string[]; spanCount: number }>;
    };
    // The trace of frontend -> orders (the 500): both sides of the call were captured.
    const trace = list.traces.find((t) => t.services.includes('frontend') && t.services.includes('orders'));
    assert.ok(trace, 'a frontend -> orders trace');
    interface ApiSpan {
      spanId: string;
      parentSpanId?: string;
      kind: string;
      parentLink?: { method: string; confidence: number };
    }
    const spans = ((await (await fetch(`${agent.url}/api/v1/traces/${trace.traceId}`)).json()) as { spans: ApiSpan[] }).spans;
    assert.ok(spans.length >= 2, `${spans.length} spans`);
    // What the agent says the waterfall must show: server sides under their client sides, and links made without headers.
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const pairs = spans.filter((s) => s.kind === 'server' && s.parentSpanId !== undefined && byId.get(s.parentSpanId)?.kind === 'client');
    const inferred = spans.filter((s) => s.parentLink !== undefined && s.parentLink.method !== 'header');
    assert.ok(pairs.length >= 1, 'the agent joined at least one call');
    for (const theme of ['dark', 'light']) {
      const page = await browser.context.newPage();
      await page.goto(`${preview.url}?panel=waterfall&theme=${theme}&traceId=${trace.traceId}`);
      await page.waitForSelector('[data-testid="waterfall-row"]');
      assert.equal(await page.locator('[data-testid="waterfall-row"]').count(), spans.length);
      const kinds = await page.$$eval('[data-testid="waterfall-row"]', (els) => els.map((e) => e.getAttribute('data-kind')));
      assert.ok(kinds.includes('client') && kinds.includes('server'), `kinds ${kinds.join(',')}`);
      // Each joined call: its client side drawn behind the server bar, a labelled network gap.
      assert.equal(await page.locator('[data-testid="waterfall-client-ghost"]').count(), pairs.length);
      assert.equal(await page.locator('[data-testid="waterfall-gap-label"]').count(), pairs.length);
      assert.ok((await page.locator('[data-testid="waterfall-gap"]').count()) >= 1, 'a gap before or after a server bar');
      assert.match((await page.locator('[data-testid="waterfall-gap-label"]').first().textContent()) ?? '', /^net -?\d/);
      // Inferred links: one badge per link made without headers, with a dashed connector.
      assert.equal(await page.locator('[data-testid="waterfall-link-badge"]').count(), inferred.length);
      for (const s of inferred) {
        const row = page.locator(`[data-testid="waterfall-row"][data-span="${s.spanId}"]`);
        assert.match((await row.locator('[data-testid="waterfall-link-badge"]').textContent()) ?? '', new RegExp(`${s.parentLink!.method} · ${Math.round(s.parentLink!.confidence * 100)}%`));
        const style = await row.locator('[data-testid="waterfall-connector"]').evaluate((e) => getComputedStyle(e).borderLeftStyle);
        assert.equal(style, 'dashed');
      }
      assert.ok((await page.locator('[data-testid="waterfall-critical"]').count()) >= 1, 'critical path drawn');
      // The details pane of the server side shows its connection and process.
      await page.locator('[data-testid="waterfall-row"][data-kind="server"]').first().click();
      const details = (await page.locator('[data-testid="waterfall-details"]').textContent()) ?? '';
      assert.match(details, /Connection.*Exchange.*Local.*Remote.*Capture/s);
      assert.match(details, /pid/);
      await page.screenshot({ path: path.join(OUTPUT_DIR, `waterfall-${theme}.png`) });
      await page.close();
    }
  });

  test('waterfall of a synthetic 5,000-span trace: bounded DOM rows, scrolls, search and collapse (times printed)', async (t) => {
    for (const theme of ['light', 'dark']) {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const t0 = Date.now();
      await page.goto(`${preview.url}?panel=waterfall&theme=${theme}&synthetic=trace:5000`);
      await page.waitForSelector('[data-testid="waterfall-row"]');
      t.diagnostic(`${theme}: page load to first rows of 5000 spans: ${Date.now() - t0} ms (includes loading the plugin and building the frame)`);
      assert.deepEqual(errors, []);
      assert.equal(await page.getAttribute('[data-testid="waterfall"]', 'data-spans'), '5000');
      const domRows = await page.locator('[data-testid="waterfall-row"]').count();
      t.diagnostic(`${theme}: ${domRows} rows in the DOM for 5000 spans`);
      assert.ok(domRows > 10 && domRows < 80, `${domRows} rows in the DOM`);
      // Scroll through the whole trace, one viewport per frame, and time the frames.
      const frames = await page.evaluate(async () => {
        const body = document.querySelector('[data-testid="waterfall-body"]') as HTMLElement;
        const times: number[] = [];
        let last = performance.now();
        for (let i = 0; i < 60; i++) {
          body.scrollTop += body.scrollHeight / 60;
          await new Promise((r) => requestAnimationFrame(() => r(null)));
          const now = performance.now();
          times.push(now - last);
          last = now;
        }
        times.sort((a, b) => a - b);
        return { median: times[30]!, p95: times[57]!, rows: document.querySelectorAll('[data-testid="waterfall-row"]').length, top: body.scrollTop };
      });
      t.diagnostic(`${theme}: scrolling 5000 spans in 60 steps: median frame ${frames.median.toFixed(1)} ms, p95 ${frames.p95.toFixed(1)} ms, ${frames.rows} rows in the DOM at the end`);
      assert.ok(frames.rows > 10 && frames.rows < 80, `${frames.rows} rows after scrolling`);
      assert.ok(frames.top > 24 * 4000, `scrolled to ${frames.top}`);
      const lastSpans = await page.$$eval('[data-testid="waterfall-row"]', (els) => els.map((e) => Number((e as HTMLElement).style.top.replace('px', ''))));
      assert.ok(Math.max(...lastSpans) >= 24 * 4990, 'the last rows are drawn at the bottom');
      await page.evaluate(() => ((document.querySelector('[data-testid="waterfall-body"]') as HTMLElement).scrollTop = 0));
      await page.locator('[data-testid="waterfall-search"]').fill('svc-07');
      assert.match((await page.locator('[data-testid="waterfall-search-count"]').textContent()) ?? '', /of 318$/);
      assert.ok((await page.locator('[data-testid="waterfall-row"][data-match="true"]').count()) >= 1, 'matches highlighted in view');
      await page.screenshot({ path: path.join(OUTPUT_DIR, `waterfall-5000-${theme}.png`) });
      await page.locator('[data-testid="waterfall-search"]').fill('');
      await page.locator('[data-testid="waterfall-collapse-all"]').click();
      assert.equal(await page.locator('[data-testid="waterfall-row"]').count(), 1);
      await page.locator('[data-testid="waterfall-toggle"]').first().click();
      const expanded = await page.locator('[data-testid="waterfall-row"]').count();
      assert.ok(expanded > 1 && expanded < 80, `${expanded} rows after expanding the root`);
      await page.close();
    }
  });

  test('service map of a synthetic 200 services / 1,000 calls: every node and edge drawn, zoom and pan (times printed)', async (t) => {
    for (const theme of ['light', 'dark']) {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      const t0 = Date.now();
      await page.goto(`${preview.url}?panel=servicemap&theme=${theme}&synthetic=graph:200:1000`);
      await page.waitForSelector('[data-testid="servicemap-node"]');
      t.diagnostic(`${theme}: page load to a drawn 200-node / 1000-edge map: ${Date.now() - t0} ms (includes loading the plugin, building the frames and the layout)`);
      assert.deepEqual(errors, []);
      assert.equal(await page.locator('[data-testid="servicemap-node"]').count(), 200);
      assert.equal(await page.locator('[data-testid="servicemap-edge"]').count(), 1000);
      assert.equal(await page.locator('[data-testid="servicemap-node"][data-external="true"]').count(), 10);
      await page.screenshot({ path: path.join(OUTPUT_DIR, `servicemap-200-${theme}.png`) });
      // Pan by dragging the background, one step per frame; time the frames.
      const pan = await page.evaluate(async () => {
        const svg = document.querySelector('[data-testid="servicemap"]') as SVGSVGElement;
        const bg = svg.querySelector('[data-pan]') as Element;
        const box = svg.getBoundingClientRect();
        // No helper functions in here: the test's transpiler would wrap them in a __name() the page lacks.
        bg.dispatchEvent(new PointerEvent('pointerdown', { bubbles: true, clientX: box.left + 600, clientY: box.top + 300, pointerId: 1 }));
        const times: number[] = [];
        let last = performance.now();
        for (let i = 1; i <= 40; i++) {
          bg.dispatchEvent(new PointerEvent('pointermove', { bubbles: true, clientX: box.left + 600 - i * 5, clientY: box.top + 300 - i * 3, pointerId: 1 }));
          await new Promise((r) => requestAnimationFrame(() => r(null)));
          const now = performance.now();
          times.push(now - last);
          last = now;
        }
        bg.dispatchEvent(new PointerEvent('pointerup', { bubbles: true, clientX: box.left + 400, clientY: box.top + 180, pointerId: 1 }));
        times.sort((a, b) => a - b);
        return { median: times[20]!, p95: times[38]!, transform: document.querySelector('[data-testid="servicemap-viewport"]')!.getAttribute('transform') };
      });
      t.diagnostic(`${theme}: panning the 200-node map over 40 frames: median frame ${pan.median.toFixed(1)} ms, p95 ${pan.p95.toFixed(1)} ms`);
      assert.match(pan.transform ?? '', /translate/);
      // Back to the fitted view, then zoom in with the wheel on a mid-tier service until edge labels fit: they appear.
      await page.locator('[data-testid="servicemap-fit"]').click();
      const before = await page.locator('[data-testid="servicemap-edge-label"]').count();
      const target = await page.locator('[data-testid="servicemap-node"][data-node^="t2-"]').first().boundingBox();
      assert.ok(target, 'a mid-tier node on screen');
      await page.mouse.move(target.x + target.width / 2, target.y + target.height / 2);
      for (let i = 0; i < 16; i++) await page.mouse.wheel(0, -100);
      await page.waitForFunction(() => Number.parseInt(document.querySelector('[data-testid="servicemap-zoom"]')!.textContent ?? '0', 10) >= 90);
      const labels = await page.locator('[data-testid="servicemap-edge-label"]').count();
      t.diagnostic(`${theme}: edge labels at fit ${before}, zoomed in (${await page.locator('[data-testid="servicemap-zoom"]').textContent()}) ${labels}`);
      assert.equal(before, 0);
      assert.ok(labels > 0 && labels < 1000, `${labels} labels`);
      // Decluttered: the labels in view do not cover one another (measured as drawn, 4 px of slack for the estimate of text width).
      const overlapping = await page.$$eval('[data-testid="servicemap-edge-label"]', (els) => {
        const view = document.querySelector('[data-testid="servicemap"]')!.getBoundingClientRect();
        const boxes = els.map((e) => e.getBoundingClientRect()).filter((b) => b.right > view.left && b.left < view.right && b.bottom > view.top && b.top < view.bottom);
        let n = 0;
        for (let i = 0; i < boxes.length; i++)
          for (let j = i + 1; j < boxes.length; j++) {
            const [a, b] = [boxes[i]!, boxes[j]!];
            if (Math.min(a.right, b.right) - Math.max(a.left, b.left) > 4 && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 4) n++;
          }
        return { n, inView: boxes.length };
      });
      t.diagnostic(`${theme}: ${overlapping.inView} labels in view, ${overlapping.n} overlapping pairs`);
      assert.equal(overlapping.n, 0);
      // Hovering a service fades every call but its own.
      const hovered = page.locator('[data-testid="servicemap-node"][data-node^="t2-"]').first();
      const id = (await hovered.getAttribute('data-node'))!;
      await hovered.hover();
      const opacities = await page.$$eval(
        '[data-testid="servicemap-edge"]',
        (els, node) => {
          const own = els.filter((e) => e.getAttribute('data-client') === node || e.getAttribute('data-server') === node);
          const other = els.filter((e) => e.getAttribute('data-client') !== node && e.getAttribute('data-server') !== node);
          return { own: [...new Set(own.map((e) => getComputedStyle(e).opacity))], other: [...new Set(other.map((e) => getComputedStyle(e).opacity))], n: own.length };
        },
        id,
      );
      assert.ok(opacities.n > 0, `${id} has calls`);
      assert.deepEqual(opacities, { own: ['1'], other: ['0.12'], n: opacities.n });
      await page.screenshot({ path: path.join(OUTPUT_DIR, `servicemap-200-zoomed-${theme}.png`) });
      await page.close();
    }
  });

  test('frames that are not a service graph get a clear message, not a broken map', async () => {
    const page = await open('&theme=dark&query=search');
    const msg = await page.locator('[data-testid="servicemap-message"]').textContent();
    assert.match(msg ?? '', /draws a service graph/);
    assert.equal(await page.locator('[data-testid="servicemap-node"]').count(), 0);
    await page.close();
  });
});
