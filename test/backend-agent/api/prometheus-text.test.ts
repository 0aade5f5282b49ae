import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  escapeHelp,
  escapeLabelValue,
  formatValue,
  renderExposition,
  type MetricFamily,
} from '../../../backend-agent/src/api/metrics/prometheus-text.js';
import { agentMetricFamilies } from '../../../backend-agent/src/api/metrics/agent-metrics.js';
import { makeHealth } from '../fixtures/health.js';

function promtoolPath(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

const families: MetricFamily[] = [
  { name: 'demo_up', type: 'gauge', help: 'Up.\nSecond line with a \\ backslash.', samples: [{ value: 1 }] },
  {
    name: 'demo_events_total',
    type: 'counter',
    help: 'Events by kind.',
    samples: [
      { labels: { kind: 'plain' }, value: 3 },
      { labels: { kind: 'quote"back\\slash\nnewline' }, value: 4 },
    ],
  },
  { name: 'demo_ratio', type: 'gauge', help: 'Special values.', samples: [{ labels: { v: 'nan' }, value: NaN }, { labels: { v: 'inf' }, value: Infinity }] },
];

describe('Prometheus text renderer', () => {
  test('HELP and TYPE once per family, samples after, trailing newline', () => {
    const text = renderExposition(families);
    assert.equal(
      text,
      [
        '# HELP demo_up Up.\\nSecond line with a \\\\ backslash.',
        '# TYPE demo_up gauge',
        'demo_up 1',
        '# HELP demo_events_total Events by kind.',
        '# TYPE demo_events_total counter',
        'demo_events_total{kind="plain"} 3',
        'demo_events_total{kind="quote\\"back\\\\slash\\nnewline"} 4',
        '# HELP demo_ratio Special values.',
        '# TYPE demo_ratio gauge',
        'demo_ratio{v="nan"} NaN',
        'demo_ratio{v="inf"} +Inf',
        '',
      ].join('\n'),
    );
  });

  test('escaping and value formatting helpers', () => {
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    assert.equal(escapeHelp('a"b\\c\nd'), 'a"b\\\\c\\nd', 'quotes are not escaped in HELP');
    assert.equal(formatValue(-Infinity), '-Inf');
    assert.equal(formatValue(0.5), '0.5');
  });

  test('rejects invalid names, counters without _total and duplicates', () => {
    assert.throws(() => renderExposition([{ name: 'bad-name', type: 'gauge', help: 'x', samples: [] }]), /invalid metric name/);
    assert.throws(() => renderExposition([{ name: 'x_count', type: 'counter', help: 'x', samples: [] }]), /must end in _total/);
    assert.throws(
      () => renderExposition([{ name: 'x', type: 'gauge', help: 'x', samples: [{ labels: { 'bad-label': 'v' }, value: 1 }] }]),
      /invalid label name/,
    );
    const one: MetricFamily = { name: 'x', type: 'gauge', help: 'x', samples: [] };
    assert.throws(() => renderExposition([one, one]), /rendered twice/);
  });

  test('agent metrics include the required families', () => {
    const text = renderExposition(
      agentMetricFamilies({
        health: makeHealth(),
        store: { spanCount: 12, sizeBytes: 8192 },
        requests: [{ route: '/api/traces', code: 200, count: 5 }],
      }),
    );
    for (const line of [
      'wiretrace_capture_up 1',
      'wiretrace_capture_kernel_events_total{counter="ringbuf_drops"} 3',
      'wiretrace_capture_kernel_events_total{counter="weird\\"name\\\\x"} 1',
      'wiretrace_pipeline_events_decoded_total 1000',
      'wiretrace_parse_errors_total{protocol="http1"} 2',
      'wiretrace_store_spans 12',
      'wiretrace_store_size_bytes 8192',
      'wiretrace_spans_written_total 780',
      'wiretrace_http_api_requests_total{route="/api/traces",code="200"} 5',
    ]) {
      assert.ok(text.split('\n').includes(line), `missing line: ${line}`);
    }
  });

  test('promtool check metrics accepts the output', (t) => {
    const promtool = promtoolPath();
    if (!promtool) {
      t.skip('promtool not installed (apt-get install -y prometheus provides it)');
      return;
    }
    const text =
      renderExposition(families) +
      renderExposition(
        agentMetricFamilies({ health: makeHealth(), store: { spanCount: 1, sizeBytes: 2 }, requests: [{ route: 'unmatched', code: 404, count: 1 }] }),
      );
    // promtool exits non-zero and prints the problem on any lint or parse error.
    const out = execFileSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(out.trim(), '');
  });
});
