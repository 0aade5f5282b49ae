/**
 * Both panels rendered with React into a DOM (jsdom) with Grafana's theme:
 * the waterfall of a 5,000-span trace keeps only the rows in view in the DOM
 * (and draws gaps, inferred links and the critical path), the service map
 * draws 200 services and 1,000 edges. Render times are printed, never asserted.
 */
import '../datasource/fixtures/dom.js';
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import React from 'react';
import { act, cleanup, fireEvent, render } from '@testing-library/react';
import type { DataFrame, PanelProps } from '@grafana/data';
import { WaterfallPanel } from '../../src/panels/waterfall/WaterfallPanel.js';
import { DEFAULT_WATERFALL_OPTIONS, type WaterfallOptions } from '../../src/panels/waterfall/types.js';
import { ServiceMapPanel } from '../../src/panels/servicemap/ServiceMapPanel.js';
import { DEFAULT_OPTIONS, type ServiceMapOptions } from '../../src/panels/servicemap/types.js';
import { syntheticGraphFrames, syntheticTraceFrame } from '../../src/preview/synthetic.js';

const grafanaData = createRequire(import.meta.url)('@grafana/data') as typeof import('@grafana/data');
const { createTheme, dateTime, EventBusSrv, LoadingState, ThemeContext } = grafanaData;

after(() => cleanup());

function props<T>(series: DataFrame[], options: T, width: number, height: number): PanelProps<T> {
  const range = { from: dateTime(0), to: dateTime(1), raw: { from: dateTime(0), to: dateTime(1) } };
  return {
    id: 1,
    data: { state: LoadingState.Done, series, timeRange: range },
    timeRange: range,
    timeZone: 'browser',
    options,
    transparent: false,
    width,
    height,
    fieldConfig: { defaults: {}, overrides: [] },
    renderCounter: 0,
    title: 'test',
    eventBus: new EventBusSrv(),
    onOptionsChange: () => {},
    onFieldConfigChange: () => {},
    replaceVariables: (s: string) => s,
    onChangeTimeRange: () => {},
  };
}

function themed(mode: 'light' | 'dark', child: React.ReactElement): React.ReactElement {
  return React.createElement(ThemeContext.Provider, { value: createTheme({ colors: { mode } }) }, child);
}

test('waterfall of 5,000 spans: bounded DOM rows, scrolling swaps them, gaps / inferred links / critical path drawn (render time printed)', async (t) => {
  const frame = syntheticTraceFrame(5000);
  const options: WaterfallOptions = { ...DEFAULT_WATERFALL_OPTIONS };
  const t0 = performance.now();
  const view = render(themed('dark', React.createElement(WaterfallPanel, props([frame], options, 1200, 700))));
  const ms = performance.now() - t0;
  const rows = () => view.container.querySelectorAll('[data-testid="waterfall-row"]');
  t.diagnostic(`first render of a 5000-span waterfall (jsdom): ${ms.toFixed(1)} ms, ${rows().length} rows in the DOM`);
  assert.equal(view.getByTestId('waterfall').getAttribute('data-spans'), '5000');
  assert.ok(rows().length > 10 && rows().length < 60, `${rows().length} rows in the DOM`);
  assert.equal(view.getByTestId('waterfall-body').getAttribute('aria-rowcount'), '5000');
  // Network gaps, client ghosts and critical path on the rows in view.
  assert.ok(view.container.querySelectorAll('[data-testid="waterfall-gap"]').length > 0, 'gaps drawn');
  assert.ok(view.container.querySelectorAll('[data-testid="waterfall-critical"]').length > 0, 'critical path drawn');

  // Scroll to the middle: other rows, still bounded.
  const body = view.getByTestId('waterfall-body');
  const firstIds = [...rows()].map((r) => r.getAttribute('data-span'));
  const t1 = performance.now();
  await act(async () => {
    body.scrollTop = 24 * 2500;
    fireEvent.scroll(body);
  });
  t.diagnostic(`scroll to row 2500: ${(performance.now() - t1).toFixed(1)} ms, ${rows().length} rows in the DOM`);
  const midIds = [...rows()].map((r) => r.getAttribute('data-span'));
  assert.ok(rows().length < 60, `${rows().length} rows after scrolling`);
  assert.equal(midIds.filter((id) => firstIds.includes(id)).length, 0, 'the window moved');
  const tops = [...rows()].map((r) => parseFloat((r as HTMLElement).style.top));
  assert.ok(tops.some((top) => top >= 24 * 2490 && top <= 24 * 2510), 'rows positioned at the scroll offset');

  // Inferred links: dashed connector + badge; header links: solid, no badge.
  const inferred = view.container.querySelector('[data-testid="waterfall-row"][data-inferred="true"]')!;
  assert.ok(inferred, 'an inferred-link row in view');
  const connector = inferred.querySelector('[data-testid="waterfall-connector"]') as HTMLElement;
  assert.match(connector.style.borderLeft, /dashed/);
  assert.match(inferred.querySelector('[data-testid="waterfall-link-badge"]')!.textContent ?? '', /socket-join · 99%/);
  const header = view.container.querySelector('[data-testid="waterfall-row"][data-kind="server"][data-inferred="false"]')!;
  assert.match((header.querySelector('[data-testid="waterfall-connector"]') as HTMLElement).style.borderLeft, /solid/);
  assert.equal(header.querySelector('[data-testid="waterfall-link-badge"]'), null);

  // Search: count shown, matches flagged.
  await act(async () => {
    fireEvent.change(view.getByTestId('waterfall-search'), { target: { value: 'svc-07' } });
  });
  assert.equal(view.getByTestId('waterfall-search-count').getAttribute('data-count'), '318');

  // Collapse all leaves the root; selecting it opens the details pane.
  await act(async () => {
    fireEvent.click(view.getByTestId('waterfall-collapse-all'));
    fireEvent.change(view.getByTestId('waterfall-search'), { target: { value: '' } });
  });
  assert.equal(rows().length, 1);
  assert.match(rows()[0]!.textContent ?? '', /\+4999/);
  await act(async () => {
    fireEvent.click(rows()[0]!);
  });
  assert.match(view.getByTestId('waterfall-details').textContent ?? '', /Connection.*Exchange/s);
  view.unmount();
});

test('service map of 200 services and 1,000 edges renders every node and edge once (render time printed), labels only when legible', async (t) => {
  const frames = syntheticGraphFrames(200, 1000);
  const options: ServiceMapOptions = { ...DEFAULT_OPTIONS };
  const t0 = performance.now();
  const view = render(themed('light', React.createElement(ServiceMapPanel, props(frames, options, 1200, 700))));
  t.diagnostic(`first render of the 200-node / 1000-edge map incl. layout (jsdom): ${(performance.now() - t0).toFixed(1)} ms`);
  assert.equal(view.container.querySelectorAll('[data-testid="servicemap-node"]').length, 200);
  assert.equal(view.container.querySelectorAll('[data-testid="servicemap-edge"]').length, 1000);
  assert.equal(view.container.querySelectorAll('[data-testid="servicemap-node"][data-external="true"]').length, 10);
  // Fitted far out: 1,000 labels would be noise; zooming in brings them.
  assert.equal(view.container.querySelectorAll('[data-testid="servicemap-edge-label"]').length, 0);
  const withProtocol = view.container.querySelectorAll('[data-testid="servicemap-edge"]:not([data-protocol=""])').length;
  assert.equal(withProtocol, 1000, 'protocol carried from the frame');
  const t1 = performance.now();
  await act(async () => {
    for (let i = 0; i < 14; i++) fireEvent.click(view.getByLabelText('Zoom in'));
  });
  t.diagnostic(`14 zoom steps: ${(performance.now() - t1).toFixed(1)} ms; zoom ${view.getByTestId('servicemap-zoom').textContent}`);
  // Zoomed in, labels come back, decluttered: only those that do not overlap a busier edge's label
  // (placed over the whole map; only those near the view are in the DOM).
  const labels = Number(view.getByTestId('servicemap-label-count').getAttribute('data-edges'));
  const inDom = view.container.querySelectorAll('[data-testid="servicemap-edge-label"]').length;
  t.diagnostic(`edge labels placed when zoomed in: ${labels} of 1000, ${inDom} of them near the view and in the DOM`);
  assert.ok(labels > 100 && labels < 1000, `${labels} labels`);
  assert.ok(inDom > 0 && inDom <= labels, `${inDom} labels in the DOM`);
  view.unmount();
});
