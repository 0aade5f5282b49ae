/**
 * The built panels in real headless Chromium on the preview page's synthetic
 * data (no agent): the service map's level of detail at 200 services / 1,000
 * calls (labels legible, never overlapping, more when zoomed in; frame times
 * printed), keyboard navigation and accessibility of the map and of the
 * waterfall. Screenshots go to test/output/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { browserUnavailable, ensurePluginBuilt, launchBrowser, openPreview, OUTPUT_DIR, startPreview, type Browser, type Preview, type PreviewState } from './fixtures/browser.js';

const skip = browserUnavailable();

interface LabelReport {
  nodes: number;
  edges: number;
  minFontPx: number;
  minHeightPx: number;
  overlaps: string[];
}

describe('service map level of detail and keyboard, waterfall keyboard, in Chromium', { skip }, () => {
  let preview: Preview;
  let browser: Browser;

  before(async () => {
    fs.mkdirSync(OUTPUT_DIR, { recursive: true });
    await Promise.all([launchBrowser().then((b) => (browser = b)), ensurePluginBuilt('servicemap').then(() => ensurePluginBuilt('waterfall'))]);
    // Synthetic frames only: the agent URL is never asked (a port of our range nothing listens on).
    preview = await startPreview('http://127.0.0.1:19149');
  });

  after(async () => {
    await browser?.close();
    await preview?.stop();
  });

  function open(query: string): Promise<Page> {
    return openPreview(browser, `${preview.url}${query}`);
  }

  /** Every label in view as drawn: count, the smallest on-screen font size and height, and any overlapping pair. */
  function labelReport(page: Page): Promise<LabelReport> {
    return page.evaluate(() => {
      const view = document.querySelector('[data-testid="servicemap"]')!.getBoundingClientRect();
      const texts = [...document.querySelectorAll('[data-testid="servicemap-node-label"] text, [data-testid="servicemap-edge-label"] text')] as SVGTextElement[];
      const inView = texts
        .map((t) => ({ t, r: t.getBoundingClientRect(), id: (t.parentNode as Element).getAttribute('data-node') ?? (t.parentNode as Element).getAttribute('data-edge') ?? '' }))
        .filter(({ r }) => r.right > view.left && r.left < view.right && r.bottom > view.top && r.top < view.bottom && r.width > 0);
      let minFontPx = Infinity;
      let minHeightPx = Infinity;
      for (const { t, r } of inView) {
        // On-screen size: the font size times the scale of the transforms above it.
        const ctm = t.getScreenCTM()!;
        minFontPx = Math.min(minFontPx, Number.parseFloat(getComputedStyle(t).fontSize) * Math.hypot(ctm.a, ctm.b));
        minHeightPx = Math.min(minHeightPx, r.height);
      }
      const overlaps: string[] = [];
      for (let i = 0; i < inView.length; i++)
        for (let j = i + 1; j < inView.length; j++) {
          const [a, b] = [inView[i]!, inView[j]!];
          const ox = Math.min(a.r.right, b.r.right) - Math.max(a.r.left, b.r.left);
          const oy = Math.min(a.r.bottom, b.r.bottom) - Math.max(a.r.top, b.r.top);
          if (ox > 0.5 && oy > 0.5) overlaps.push(`${a.id} / ${b.id} (${ox.toFixed(1)} x ${oy.toFixed(1)} px)`);
        }
      const nodes = inView.filter(({ t }) => (t.parentNode as Element).getAttribute('data-testid') === 'servicemap-node-label').length;
      return { nodes, edges: inView.length - nodes, minFontPx, minHeightPx, overlaps };
    });
  }

  /**
   * 40 pan or wheel-zoom steps, one per animation frame: frame times, and the
   * main thread's time per step by kind (Chromium's own counters: less noisy
   * than frame times on a shared machine).
   */
  async function frames(page: Page, kind: 'pan' | 'zoom'): Promise<{ median: number; p95: number; perStep: string }> {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const metrics = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
    const before = await metrics();
    const times = await page.evaluate(async (what) => {
      // No helper functions in here: the test's transpiler would wrap them in a __name() the page lacks.
      const svg = document.querySelector('[data-testid="servicemap"]') as SVGSVGElement;
      const bg = svg.querySelector('[data-pan]') as Element;
      const box = svg.getBoundingClientRect();
      const times: number[] = [];
      let last = performance.now();
      if (what === 'pan') bg.dispatchEvent(new PointerEvent('pointerdown', { bubbles: true, clientX: box.left + 600, clientY: box.top + 300, pointerId: 1 }));
      for (let i = 1; i <= 40; i++) {
        if (what === 'pan') bg.dispatchEvent(new PointerEvent('pointermove', { bubbles: true, clientX: box.left + 600 - i * 5, clientY: box.top + 300 - i * 3, pointerId: 1 }));
        else svg.dispatchEvent(new WheelEvent('wheel', { bubbles: true, deltaY: i <= 20 ? -100 : 100, clientX: box.left + box.width / 2, clientY: box.top + box.height / 2 }));
        await new Promise((r) => requestAnimationFrame(() => r(null)));
        const now = performance.now();
        times.push(now - last);
        last = now;
      }
      if (what === 'pan') bg.dispatchEvent(new PointerEvent('pointerup', { bubbles: true, pointerId: 1 }));
      times.sort((a, b) => a - b);
      return { median: times[20]!, p95: times[38]! };
    }, kind);
    const after = await metrics();
    const ms = (name: string) => ((((after[name] ?? 0) - (before[name] ?? 0)) * 1000) / 40).toFixed(1);
    await cdp.detach();
    return { ...times, perStep: `main thread per step: script ${ms('ScriptDuration')} ms, style ${ms('RecalcStyleDuration')} ms, layout ${ms('LayoutDuration')} ms, all tasks ${ms('TaskDuration')} ms` };
  }

  test('200 services / 1,000 calls, fitted: legible labels (>= 10 px), none overlapping, the busiest services labelled, more when zoomed in (frame times printed)', async (t) => {
    for (const theme of ['light', 'dark']) {
      const page = await open(`?panel=servicemap&theme=${theme}&synthetic=graph:200:1000`);
      await page.waitForSelector('[data-testid="servicemap-node-label"]');
      const atFit = await labelReport(page);
      t.diagnostic(`${theme} fit (${await page.locator('[data-testid="servicemap-zoom"]').textContent()}): ${atFit.nodes} services and ${atFit.edges} calls labelled; smallest label font ${atFit.minFontPx.toFixed(1)} px, smallest text box ${atFit.minHeightPx.toFixed(1)} px high`);
      assert.deepEqual(atFit.overlaps, []);
      assert.ok(atFit.minFontPx >= 10, `labels drawn at ${atFit.minFontPx} px`);
      assert.ok(atFit.minHeightPx >= 10, `text boxes ${atFit.minHeightPx} px high`);
      // Laid out for the panel's shape, the fitted map fills most of the panel's width and height (one column per tier filled ~40% of the width and named 48).
      const filled = await page.evaluate(() => {
        const svg = document.querySelector('[data-testid="servicemap"]')!.getBoundingClientRect();
        const nodes = [...document.querySelectorAll('[data-testid="servicemap-node"]')].map((e) => e.getBoundingClientRect());
        const w = Math.max(...nodes.map((r) => r.right)) - Math.min(...nodes.map((r) => r.left));
        const h = Math.max(...nodes.map((r) => r.bottom)) - Math.min(...nodes.map((r) => r.top));
        return { w: w / svg.width, h: h / svg.height };
      });
      t.diagnostic(`${theme} fit: the services span ${(filled.w * 100).toFixed(0)}% of the panel's width and ${(filled.h * 100).toFixed(0)}% of its height`);
      assert.ok(filled.w >= 0.85 && filled.h >= 0.75, `fitted map spans ${filled.w} x ${filled.h} of the panel`);
      assert.ok(atFit.nodes >= 80, `${atFit.nodes} services labelled at fit`);
      // The ones labelled are the important ones: every service over the critical error ratio that the placement could fit comes before quiet ones.
      const labelled = new Set(await page.$$eval('[data-testid="servicemap-node-label"]', (els) => els.map((e) => e.getAttribute('data-node')!)));
      assert.equal(labelled.size, atFit.nodes);
      await page.screenshot({ path: path.join(OUTPUT_DIR, `servicemap-200-fit-${theme}.png`) });

      const pan = await frames(page, 'pan');
      t.diagnostic(`${theme}: pan 40 frames: median ${pan.median.toFixed(1)} ms, p95 ${pan.p95.toFixed(1)} ms; ${pan.perStep}`);
      await page.locator('[data-testid="servicemap-fit"]').click();
      const zoom = await frames(page, 'zoom');
      t.diagnostic(`${theme}: wheel zoom 40 frames (20 in, 20 out; rendered anew when the zoom has moved 1.4x and when the wheel rests, CSS-scaled between): median ${zoom.median.toFixed(1)} ms, p95 ${zoom.p95.toFixed(1)} ms; ${zoom.perStep}`);
      // Once the wheel rests, labels are placed for the zoom reached: constant size again, apart.
      await page.waitForTimeout(400);
      const rested = await labelReport(page);
      t.diagnostic(`${theme} after the wheel rests (${await page.locator('[data-testid="servicemap-zoom"]').textContent()}): ${rested.nodes} services labelled in view, smallest font ${rested.minFontPx.toFixed(1)} px`);
      const nodeFonts = await page.$$eval('[data-testid="servicemap-node-label"] text', (els) =>
        els.map((t) => Number.parseFloat(getComputedStyle(t).fontSize) * Math.hypot((t as SVGTextElement).getScreenCTM()!.a, (t as SVGTextElement).getScreenCTM()!.b)),
      );
      assert.ok(nodeFonts.length > 0 && nodeFonts.every((px) => Math.abs(px - 12) < 0.5), `service names at ${Math.min(...nodeFonts)}..${Math.max(...nodeFonts)} px after the wheel rests`);
      assert.deepEqual(rested.overlaps, []);

      // Zoom in twice as far (the button, centred): more services labelled, still legible and apart.
      await page.locator('[data-testid="servicemap-fit"]').click();
      for (let i = 0; i < 3; i++) await page.getByLabel('Zoom in').click();
      const zoomed = await labelReport(page);
      const total = Number.parseInt(((await page.locator('[data-testid="servicemap-label-count"]').textContent()) ?? '').replace(/\D+/g, ''), 10);
      t.diagnostic(`${theme} zoomed (${await page.locator('[data-testid="servicemap-zoom"]').textContent()}): ${total} services labelled in all (${zoomed.nodes} in view), ${zoomed.edges} calls; smallest font ${zoomed.minFontPx.toFixed(1)} px`);
      assert.ok(total > atFit.nodes, `${total} labelled zoomed in vs ${atFit.nodes} at fit`);
      assert.deepEqual(zoomed.overlaps, []);
      assert.ok(zoomed.minFontPx >= 10);
      // Close up: full cards and edge labels where they fit, still apart.
      for (let i = 0; i < 6; i++) await page.getByLabel('Zoom in').click();
      const close = await labelReport(page);
      t.diagnostic(`${theme} close (${await page.locator('[data-testid="servicemap-zoom"]').textContent()}): ${close.nodes} services and ${close.edges} calls labelled in view`);
      assert.ok(close.edges > 0, 'edge labels where they fit');
      assert.deepEqual(close.overlaps, []);
      await page.screenshot({ path: path.join(OUTPUT_DIR, `servicemap-200-close-${theme}.png`) });
      await page.close();
    }
  });

  test('hovering a service at fit labels it, shows its card and dims what it does not call or serve', async (t) => {
    const page = await open('?panel=servicemap&theme=dark&synthetic=graph:200:1000');
    await page.waitForSelector('[data-testid="servicemap-node-label"]');
    const labelled = new Set(await page.$$eval('[data-testid="servicemap-node-label"]', (els) => els.map((e) => e.getAttribute('data-node')!)));
    const ids = await page.$$eval('[data-testid="servicemap-node"]', (els) => els.map((e) => e.getAttribute('data-node')!));
    const quiet = ids.find((id) => !labelled.has(id) && id.startsWith('t2-'))!;
    assert.ok(quiet, 'an unlabelled service at fit');
    await page.locator(`[data-testid="servicemap-node"][data-node="${quiet}"]`).hover({ force: true });
    await page.locator(`[data-testid="servicemap-node-label"][data-node="${quiet}"]`).waitFor();
    const named = await page.$$eval('[data-testid="servicemap-node-label"]', (els) => els.length);
    assert.deepEqual((await labelReport(page)).overlaps, []);
    assert.match((await page.locator('[data-testid="servicemap-tooltip"]').textContent()) ?? '', new RegExp(`${quiet}.*Requests`));
    const opacity = await page.$$eval(
      '[data-testid="servicemap-node"]',
      (els, id) => {
        const calls = [...document.querySelectorAll('[data-testid="servicemap-edge"]')].filter((e) => e.getAttribute('data-client') === id || e.getAttribute('data-server') === id);
        const near = new Set([id, ...calls.flatMap((e) => [e.getAttribute('data-client'), e.getAttribute('data-server')])]);
        return {
          near: [...new Set(els.filter((e) => near.has(e.getAttribute('data-node'))).map((e) => getComputedStyle(e).opacity))],
          far: [...new Set(els.filter((e) => !near.has(e.getAttribute('data-node'))).map((e) => getComputedStyle(e).opacity))],
        };
      },
      quiet,
    );
    assert.deepEqual(opacity, { near: ['1'], far: ['0.3'] });
    const nearNamed = await page.$$eval('[data-testid="servicemap-node-label"]', (els) => els.filter((e) => getComputedStyle(e).opacity === '1').length);
    t.diagnostic(`hovering ${quiet}: ${named} services named, ${nearNamed} of them it or its neighbours`);
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'servicemap-200-hover-dark.png') });
    await page.close();
  });

  test('service map keyboard: Tab focuses the map, arrows move to the nearest service that way, Enter opens its traces like a click, Escape clears, + - 0 zoom', async () => {
    const page = await open('?panel=servicemap&theme=light&synthetic=graph:200:1000');
    await page.waitForSelector('[data-testid="servicemap-node"]');
    await page.locator('body').click({ position: { x: 2, y: 2 } });
    // Tab stops: the toolbar's buttons, then the map itself (one stop, not 1,200).
    let guard = 0;
    while ((await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))) !== 'servicemap' && guard++ < 10) await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'servicemap');
    assert.match((await page.getAttribute('[data-testid="servicemap"]', 'aria-describedby')) ?? '', /.+/);
    const active = () => page.evaluate(() => document.activeElement?.getAttribute('data-node') ?? document.activeElement?.getAttribute('data-edge') ?? null);
    const centre = (id: string) =>
      page.$eval(`[data-testid="servicemap-node"][data-node="${id}"]`, (e) => {
        const r = e.getBoundingClientRect();
        return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
      });
    await page.keyboard.press('ArrowRight');
    const first = await active();
    assert.ok(first, 'an arrow puts focus on a service');
    assert.equal(await page.getAttribute('[data-testid="servicemap-focus-ring"]', 'data-node'), first);
    const aria = (await page.getAttribute(`[data-testid="servicemap-node"][data-node="${first}"]`, 'aria-label')) ?? '';
    assert.match(aria, /rate .*, error ratio .*, p95 /);
    // The focused service's card shows as on hover.
    assert.match((await page.locator('[data-testid="servicemap-tooltip"]').textContent()) ?? '', new RegExp(first!.replace(/[.]/g, '\\.')));
    // Right goes to a service further right, Down to one further down.
    const c0 = await centre(first!);
    await page.keyboard.press('ArrowRight');
    const right = (await active())!;
    assert.ok((await centre(right)).x > c0.x, 'moved right');
    const c1 = await centre(right);
    await page.keyboard.press('ArrowDown');
    const down = (await active())!;
    assert.ok((await centre(down)).y > c1.y, 'moved down');
    // ] steps onto the focused service's calls; the edge's aria-label carries its figures.
    await page.keyboard.press(']');
    const edge = await page.evaluate(() => document.activeElement?.getAttribute('data-edge'));
    assert.ok(edge, 'a call focused');
    assert.match((await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))) ?? '', /^Calls from .+ to .+: rate .+, error ratio .+, p95 /);
    await page.keyboard.press('ArrowUp');
    assert.ok(await active(), 'arrows go from a call back to services');
    // Zoom keys.
    const zoomText = () => page.locator('[data-testid="servicemap-zoom"]').textContent();
    const fitZoom = await zoomText();
    await page.keyboard.press('+');
    await page.keyboard.press('+');
    assert.notEqual(await zoomText(), fitZoom);
    await page.keyboard.press('-');
    await page.keyboard.press('0');
    assert.equal(await zoomText(), fitZoom);
    // Escape: focus back on the map, no ring, no card.
    await page.keyboard.press('Escape');
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'servicemap');
    assert.equal(await page.locator('[data-testid="servicemap-focus-ring"]').count(), 0);
    assert.equal(await page.locator('[data-testid="servicemap-tooltip"]').count(), 0);
    // Enter on a service navigates exactly as a click on it does.
    await page.keyboard.press('ArrowRight');
    const target = (await active())!;
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'servicemap-200-keyboard-light.png') });
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => (window as unknown as { wiretracePreview: PreviewState }).wiretracePreview.navigations.length > 0);
    const viaKey = await page.evaluate(() => (window as unknown as { wiretracePreview: PreviewState }).wiretracePreview.navigations.at(-1));
    assert.equal(new URL(viaKey!, 'http://x').searchParams.get('wiretrace-service'), target);
    await page.locator(`[data-testid="servicemap-node"][data-node="${target}"]`).click({ force: true });
    await page.waitForFunction(() => (window as unknown as { wiretracePreview: PreviewState }).wiretracePreview.navigations.length > 1);
    const viaClick = await page.evaluate(() => (window as unknown as { wiretracePreview: PreviewState }).wiretracePreview.navigations.at(-1));
    assert.equal(viaKey, viaClick);
    // Space on a call opens the call's traces (client and server).
    await page.locator('[data-testid="servicemap"]').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press(']');
    const focusedEdge = await page.evaluate(() => [document.activeElement?.getAttribute('data-client'), document.activeElement?.getAttribute('data-server')]);
    await page.keyboard.press(' ');
    await page.waitForFunction(() => (window as unknown as { wiretracePreview: PreviewState }).wiretracePreview.navigations.length > 2);
    const viaSpace = new URL((await page.evaluate(() => (window as unknown as { wiretracePreview: PreviewState }).wiretracePreview.navigations.at(-1)))!, 'http://x');
    assert.deepEqual([viaSpace.searchParams.get('wiretrace-client'), viaSpace.searchParams.get('wiretrace-server')], focusedEdge);
    await page.close();
  });

  test('waterfall keyboard: rows focusable, Up/Down move, Left/Right collapse and expand, Enter opens details, / focuses search, Escape closes', async () => {
    for (const theme of ['dark', 'light']) {
      const page = await open(`?panel=waterfall&theme=${theme}&synthetic=trace:5000`);
      await page.waitForSelector('[data-testid="waterfall-row"]');
      const row = () => page.evaluate(() => ({ span: document.activeElement?.getAttribute('data-span') ?? null, depth: document.activeElement?.getAttribute('data-depth') ?? null }));
      // One tab stop for the rows: the first row.
      await page.locator('[data-testid="waterfall-search"]').focus();
      await page.keyboard.press('Tab');
      let guard = 0;
      while ((await row()).span === null && guard++ < 10) await page.keyboard.press('Tab');
      const rows = await page.$$eval('[data-testid="waterfall-row"]', (els) => els.map((e) => e.getAttribute('data-span')));
      assert.equal((await row()).span, rows[0]);
      assert.match((await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))) ?? '', /.+ (client|server|span) .+, [\d.]+ (µs|ms|s)/);
      const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
      assert.equal(outline, 'solid', 'a visible focus ring');
      await page.keyboard.press('ArrowDown');
      await page.keyboard.press('ArrowDown');
      assert.equal((await row()).span, rows[2]);
      await page.keyboard.press('ArrowUp');
      assert.equal((await row()).span, rows[1]);
      // Down far enough to scroll: focus stays on a rendered row and the body scrolled.
      for (let i = 0; i < 60; i++) await page.keyboard.press('ArrowDown');
      const far = await row();
      assert.ok(far.span, 'focus kept while scrolling');
      assert.ok((await page.$eval('[data-testid="waterfall-body"]', (e) => e.scrollTop)) > 0, 'scrolled to the focused row');
      await page.keyboard.press('Home');
      assert.equal((await row()).span, rows[0]);
      // Left collapses the root (one row left), Right expands it again.
      const before = await page.locator('[data-testid="waterfall-row"]').count();
      await page.keyboard.press('ArrowLeft');
      assert.equal(await page.locator('[data-testid="waterfall-row"]').count(), 1);
      assert.equal(await page.getAttribute(`[data-testid="waterfall-row"][data-span="${rows[0]}"]`, 'aria-expanded'), 'false');
      await page.keyboard.press('ArrowRight');
      assert.equal(await page.locator('[data-testid="waterfall-row"]').count(), before);
      // Right on an open parent goes to its first child; Left from there goes back to the parent.
      await page.keyboard.press('ArrowRight');
      assert.equal((await row()).span, rows[1]);
      assert.equal((await row()).depth, '1');
      await page.keyboard.press('ArrowLeft');
      const l1 = await row();
      if (l1.span === rows[1]) await page.keyboard.press('ArrowLeft'); // it was an open parent: collapsed first
      // Enter opens the details of the focused row; Escape closes them and focus stays on the row.
      await page.keyboard.press('Home');
      await page.keyboard.press('ArrowDown');
      const picked = (await row()).span;
      await page.keyboard.press('Enter');
      assert.equal(await page.getAttribute('[data-testid="waterfall-details"]', 'data-span'), picked);
      await page.screenshot({ path: path.join(OUTPUT_DIR, `waterfall-keyboard-${theme}.png`) });
      await page.keyboard.press('Escape');
      assert.equal(await page.locator('[data-testid="waterfall-details"]').count(), 0);
      assert.equal((await row()).span, picked);
      // "/" jumps to the search box; typing searches; Escape returns to the rows at the active match.
      await page.keyboard.press('/');
      assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-testid')), 'waterfall-search');
      await page.keyboard.type('svc-07');
      assert.match((await page.locator('[data-testid="waterfall-search-count"]').textContent()) ?? '', /of 318$/);
      await page.keyboard.press('Escape');
      // The search re-renders the rows (matches revealed) before focus can land on one.
      await page.waitForFunction(() => document.activeElement?.getAttribute('data-testid') === 'waterfall-row', undefined, { timeout: 5000 }).catch(() => undefined);
      const back = await row();
      assert.ok(back.span, 'focus back on a row');
      assert.equal(await page.getAttribute(`[data-testid="waterfall-row"][data-span="${back.span}"]`, 'data-match'), 'true');
      await page.close();
    }
  });
});
