/**
 * QueryEditor rendered into a DOM (jsdom) with Grafana's real UI components;
 * its service and operation pickers are filled from real agents.
 */
import '../fixtures/dom.js';
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import React from 'react';
import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { QueryEditor, type WiretraceQueryEditorProps } from '../../../src/datasource/components/QueryEditor.js';
import type { WiretraceDataSource } from '../../../src/datasource/datasource.js';
import { variableValues } from '../../../src/datasource/query/variables.js';
import type { WiretraceQuery } from '../../../src/datasource/types.js';
import { directFetch } from '../fixtures/replay-agent.js';
import { TOKEN, startWorld, type World } from '../fixtures/world.js';

/**
 * The editor only calls services() and operations() on its data source;
 * these answer from real agents through the same pure module the data source uses.
 */
function pickerSource(world: World): WiretraceDataSource {
  const ctx = { agents: [world.nodeA, world.nodeB], fetch: directFetch(TOKEN), timeoutMs: 5000, fromMs: 0, toMs: Date.now() };
  const source = {
    services: async () => (await variableValues({ kind: 'services' }, ctx)).values,
    operations: async (service: string) => (await variableValues({ kind: 'operations', service }, ctx)).values,
  };
  return source as unknown as WiretraceDataSource;
}

interface Harness {
  changes: WiretraceQuery[];
  runs: number;
}

function renderEditor(datasource: WiretraceDataSource, query: WiretraceQuery): Harness {
  const h: Harness = { changes: [], runs: 0 };
  const props = {
    query,
    datasource,
    onChange: (q: WiretraceQuery) => h.changes.push(q),
    onRunQuery: () => void h.runs++,
  } as unknown as WiretraceQueryEditorProps;
  render(React.createElement(QueryEditor, props));
  return h;
}

async function openSelect(label: string): Promise<void> {
  const input = screen.getByLabelText(label);
  await act(async () => {
    fireEvent.keyDown(input, { key: 'ArrowDown' });
  });
}

describe('QueryEditor', () => {
  let world: World;
  let ds: WiretraceDataSource;
  before(async () => {
    world = await startWorld();
    ds = pickerSource(world);
  });
  after(() => world?.stop());
  afterEach(cleanup);

  test('query type buttons switch the type and run the query', async () => {
    const h = renderEditor(ds, { refId: 'A', queryType: 'search' });
    for (const label of ['Search', 'Trace by ID', 'Service graph', 'Edge metrics', 'Raw spans']) assert.ok(screen.getByLabelText(label) ?? screen.getByText(label));
    fireEvent.click(screen.getByText('Trace by ID'));
    assert.deepEqual(h.changes.at(-1), { refId: 'A', queryType: 'trace' });
    assert.equal(h.runs, 1);
  });

  test('trace by ID: typing edits the query, leaving the field runs it', () => {
    const h = renderEditor(ds, { refId: 'A', queryType: 'trace' });
    assert.equal(screen.queryByLabelText('Service'), null, 'no search fields for a trace query');
    const input = screen.getByLabelText('Trace ID');
    fireEvent.change(input, { target: { value: 'abc123' } });
    assert.deepEqual(h.changes.at(-1), { refId: 'A', queryType: 'trace', traceId: 'abc123' });
    assert.equal(h.runs, 0, 'not on every keystroke');
    fireEvent.blur(input);
    assert.equal(h.runs, 1);
  });

  test('search: the service picker lists the agents\' services; picking one clears the operation', async () => {
    const h = renderEditor(ds, { refId: 'A', queryType: 'search', operation: 'old' });
    await openSelect('Service');
    await waitFor(() => assert.ok(screen.getByText('payments')));
    for (const s of ['frontend', 'orders', 'payments']) assert.ok(screen.getByText(s), `${s} offered`);
    await act(async () => {
      fireEvent.click(screen.getByText('orders'));
    });
    assert.deepEqual(h.changes.at(-1), { refId: 'A', queryType: 'search', service: 'orders', operation: undefined });
    assert.equal(h.runs, 1);
  });

  test('search: the operation picker lists the chosen service\'s operations', async () => {
    renderEditor(ds, { refId: 'A', queryType: 'search', service: 'payments' });
    await openSelect('Operation');
    await waitFor(() => assert.ok(screen.getByText('POST /pay')));
  });

  test('search fields: tags, durations and limit edit the query', () => {
    const h = renderEditor(ds, { refId: 'A', queryType: 'search' });
    fireEvent.change(screen.getByLabelText('Tags'), { target: { value: 'error=true' } });
    fireEvent.change(screen.getByLabelText('Min duration'), { target: { value: '10ms' } });
    fireEvent.change(screen.getByLabelText('Limit'), { target: { value: '5' } });
    assert.deepEqual(h.changes.map((c) => [c.tags, c.minDuration, c.limit]), [
      ['error=true', undefined, undefined],
      [undefined, '10ms', undefined],
      [undefined, undefined, 5],
    ]);
    assert.equal(screen.queryByLabelText('Kind'), null, 'kind is for raw spans only');
  });

  test('raw spans add a kind filter; service graph needs no fields; edge metrics pick a metric', async () => {
    renderEditor(ds, { refId: 'A', queryType: 'spans' });
    assert.ok(screen.getByLabelText('Kind'));
    cleanup();
    renderEditor(ds, { refId: 'A', queryType: 'serviceGraph' });
    assert.equal(screen.queryByLabelText('Service'), null);
    assert.equal(screen.queryByLabelText('Metric'), null);
    cleanup();
    const h = renderEditor(ds, { refId: 'A', queryType: 'edgeMetrics' });
    assert.ok(screen.getByText('Rate'), 'rate by default');
    await openSelect('Metric');
    await act(async () => {
      fireEvent.click(screen.getByText('p95 latency'));
    });
    assert.deepEqual(h.changes.at(-1), { refId: 'A', queryType: 'edgeMetrics', metric: 'p95' });
    fireEvent.change(screen.getByLabelText('Edge'), { target: { value: '$edge' } });
    assert.deepEqual(h.changes.at(-1), { refId: 'A', queryType: 'edgeMetrics', edge: '$edge' });
  });
});
