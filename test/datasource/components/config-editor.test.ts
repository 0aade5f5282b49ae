/**
 * ConfigEditor rendered into a DOM (jsdom) with Grafana's real UI
 * components: agent list editing, the route URL mirror, token handling.
 */
import '../fixtures/dom.js';
import { afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import React from 'react';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import type { DataSourceSettings } from '@grafana/data';
import { ConfigEditor, type ConfigEditorProps } from '../../../src/datasource/components/ConfigEditor.js';
import type { WiretraceOptions, WiretraceSecureOptions } from '../../../src/datasource/types.js';

type Settings = DataSourceSettings<WiretraceOptions, WiretraceSecureOptions>;

function settings(jsonData: WiretraceOptions, secure: Partial<Settings> = {}): Settings {
  // Only the fields the editor reads; the rest of Grafana's settings object is irrelevant here.
  return { jsonData, secureJsonFields: {}, ...secure } as Settings;
}

function renderEditor(options: Settings): Settings[] {
  const changes: Settings[] = [];
  const props: ConfigEditorProps = { options, onOptionsChange: (o) => changes.push(o as Settings) };
  render(React.createElement(ConfigEditor, props));
  return changes;
}

describe('ConfigEditor', () => {
  afterEach(cleanup);

  test('shows each configured agent; editing a URL updates agents and the proxy route key', () => {
    const changes = renderEditor(settings({ agents: [{ url: 'http://10.0.0.5:9797', name: 'node-a' }, { url: 'http://10.0.0.6:9797' }] }));
    assert.equal((screen.getByLabelText('Agent 1 URL') as HTMLInputElement).value, 'http://10.0.0.5:9797');
    assert.equal((screen.getByLabelText('Agent 1 name') as HTMLInputElement).value, 'node-a');
    assert.equal((screen.getByLabelText('Agent 2 URL') as HTMLInputElement).value, 'http://10.0.0.6:9797');
    fireEvent.change(screen.getByLabelText('Agent 2 URL'), { target: { value: 'http://10.0.0.7:9797/' } });
    const next = changes.at(-1)!.jsonData;
    assert.deepEqual(next.agents, [{ url: 'http://10.0.0.5:9797', name: 'node-a' }, { url: 'http://10.0.0.7:9797/' }]);
    assert.equal(next.agentUrl00, 'http://10.0.0.5:9797');
    assert.equal(next.agentUrl01, 'http://10.0.0.7:9797', 'route URL without the trailing slash');
    assert.equal(next.agentUrl02, undefined);
  });

  test('add and remove agents', () => {
    const changes = renderEditor(settings({ agents: [{ url: 'http://a:9797' }, { url: 'http://b:9797' }] }));
    fireEvent.click(screen.getByRole('button', { name: /Add agent/ }));
    assert.deepEqual(changes.at(-1)!.jsonData.agents, [{ url: 'http://a:9797' }, { url: 'http://b:9797' }, { url: '' }]);
    fireEvent.click(screen.getByRole('button', { name: 'Remove agent 1' }));
    const next = changes.at(-1)!.jsonData;
    assert.deepEqual(next.agents, [{ url: 'http://b:9797' }]);
    assert.equal(next.agentUrl00, 'http://b:9797', 'routes follow the list order');
    assert.equal(next.agentUrl01, undefined);
  });

  test('a new data source starts with one empty agent row; bad URLs are flagged', () => {
    renderEditor(settings({}));
    assert.equal((screen.getByLabelText('Agent 1 URL') as HTMLInputElement).value, '');
    cleanup();
    renderEditor(settings({ agents: [{ url: 'ftp://x' }, { url: 'not a url', name: 'edge' }] }));
    assert.match(document.body.textContent ?? '', /agent 1: URL must start with http:\/\/ or https:\/\//);
    assert.match(document.body.textContent ?? '', /edge: 'not a url' is not a URL/);
  });

  test('the token goes to secureJsonData; once saved it is only "configured" and can be reset', () => {
    const changes = renderEditor(settings({ agents: [{ url: 'http://a:9797' }] }));
    fireEvent.change(screen.getByLabelText('Bearer token'), { target: { value: 's3cret' } });
    assert.deepEqual(changes.at(-1)!.secureJsonData, { token: 's3cret' });
    assert.equal(JSON.stringify(changes.at(-1)!.jsonData).includes('s3cret'), false, 'never in jsonData');
    cleanup();

    const saved = renderEditor(settings({ agents: [{ url: 'http://a:9797' }] }, { secureJsonFields: { token: true } }));
    const input = screen.getByLabelText('Bearer token') as HTMLInputElement;
    assert.equal(input.value, 'configured');
    assert.equal(input.disabled, true);
    fireEvent.click(screen.getByRole('button', { name: 'Reset' }));
    assert.deepEqual(saved.at(-1)!.secureJsonFields, { token: false });
    assert.deepEqual(saved.at(-1)!.secureJsonData, { token: '' });
  });

  test('timeout: a positive number of seconds, or unset', () => {
    const changes = renderEditor(settings({ agents: [{ url: 'http://a:9797' }], timeout: 30 }));
    fireEvent.change(screen.getByLabelText('Timeout'), { target: { value: '5' } });
    assert.equal(changes.at(-1)!.jsonData.timeout, 5);
    fireEvent.change(screen.getByLabelText('Timeout'), { target: { value: '' } });
    assert.equal('timeout' in changes.at(-1)!.jsonData, false);
  });

  test('links from spans: logs and metrics data sources become Grafana\'s tracesToLogsV2 / tracesToMetrics', () => {
    const changes = renderEditor(settings({ agents: [{ url: 'http://a:9797' }] }));
    assert.equal((screen.getByLabelText('Metrics query') as HTMLInputElement).disabled, true, 'no query without a metrics data source');
    fireEvent.change(screen.getByLabelText('Logs data source UID'), { target: { value: 'loki-1' } });
    assert.deepEqual(changes.at(-1)!.jsonData.tracesToLogsV2, {
      datasourceUid: 'loki-1',
      tags: [{ key: 'service.name', value: 'service_name' }],
      filterByTraceID: true,
      filterBySpanID: false,
      customQuery: false,
    });
    cleanup();
    const withMetrics = renderEditor(
      settings({ agents: [{ url: 'http://a:9797' }], tracesToMetrics: { datasourceUid: 'prom-1', tags: [], queries: [] } }),
    );
    fireEvent.change(screen.getByLabelText('Metrics query'), { target: { value: 'sum(rate(x{$__tags}[5m]))' } });
    assert.deepEqual(withMetrics.at(-1)!.jsonData.tracesToMetrics, {
      datasourceUid: 'prom-1',
      tags: [{ key: 'service.name', value: 'service_name' }],
      queries: [{ name: 'Service metrics', query: 'sum(rate(x{$__tags}[5m]))' }],
    });
    fireEvent.change(screen.getByLabelText('Metrics data source UID'), { target: { value: '' } });
    assert.equal('tracesToMetrics' in withMetrics.at(-1)!.jsonData, false, 'cleared with its UID');
  });
});
