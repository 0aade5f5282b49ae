/** OTLP and sampling flags, and their WIRETRACE_* twins. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, helpText, parseConfig, type AgentConfig } from '../../../backend-agent/src/config.js';

function config(argv: string[], env: Record<string, string> = {}): AgentConfig {
  const r = parseConfig(argv, env);
  if (r.kind !== 'run') throw new Error('expected a run config');
  return r.config;
}

test('export and sampling are off by default; the window is 2 s', () => {
  const c = config([]);
  assert.equal(c.otlp, undefined);
  assert.equal(c.sampling, undefined);
  assert.equal(c.traceWindowMs, 2000);
});

test('OTLP flags', () => {
  const c = config([
    '--otlp-endpoint', 'https://tempo.example:4318',
    '--otlp-header', 'Authorization=Bearer abc=def',
    '--otlp-header=X-Scope-OrgID=team-a',
    '--otlp-compression', 'gzip',
    '--otlp-batch-size', '1000',
    '--otlp-queue-size', '50000',
  ]);
  assert.deepEqual(c.otlp, {
    endpoint: 'https://tempo.example:4318/',
    headers: { Authorization: 'Bearer abc=def', 'X-Scope-OrgID': 'team-a' },
    compression: 'gzip',
    batchSize: 1000,
    queueSize: 50000,
  });
});

test('OTLP environment twins (headers comma-separated, as OTEL_EXPORTER_OTLP_HEADERS)', () => {
  const c = config([], {
    WIRETRACE_OTLP_ENDPOINT: 'http://collector:4318',
    WIRETRACE_OTLP_HEADERS: 'a=1, b=2',
    WIRETRACE_OTLP_COMPRESSION: 'none',
    WIRETRACE_OTLP_BATCH_SIZE: '64',
    WIRETRACE_OTLP_QUEUE_SIZE: '100',
  });
  assert.deepEqual(c.otlp, { endpoint: 'http://collector:4318/', headers: { a: '1', b: '2' }, compression: 'none', batchSize: 64, queueSize: 100 });
  // A flag wins over its variable.
  assert.equal(config(['--otlp-batch-size', '7'], { WIRETRACE_OTLP_ENDPOINT: 'http://c:4318', WIRETRACE_OTLP_BATCH_SIZE: '64' }).otlp?.batchSize, 7);
});

test('bad OTLP flags fail with one clear line', () => {
  const bad: Array<[string[], RegExp]> = [
    [['--otlp-endpoint', 'collector:4318'], /--otlp-endpoint must be/],
    [['--otlp-endpoint', 'ftp://c'], /http:\/\/ or https:\/\//],
    [['--otlp-endpoint', 'http://c', '--otlp-header', 'novalue'], /NAME=VALUE/],
    [['--otlp-endpoint', 'http://c', '--otlp-compression', 'zstd'], /gzip or none/],
    [['--otlp-endpoint', 'http://c', '--otlp-batch-size', '0'], /between 1 and 10000/],
    [['--otlp-endpoint', 'http://c', '--otlp-queue-size', 'lots'], /whole number/],
    [['--otlp-header', 'a=b'], /needs --otlp-endpoint/],
  ];
  for (const [argv, message] of bad) assert.throws(() => parseConfig(argv, {}), (e: unknown) => e instanceof ConfigError && message.test(e.message), argv.join(' '));
});

test('sampling flags and twins', () => {
  const c = config(['--sample-rate', '0.1', '--sample-keep-slower-than', '500ms', '--sample-service', 'checkout=0.5', '--sample-service', 'batch-jobs=1:2s', '--trace-window', '1.5s']);
  assert.deepEqual(c.sampling, {
    rate: 0.1,
    keepSlowerThanNs: 500e6,
    services: { checkout: { rate: 0.5 }, 'batch-jobs': { rate: 1, keepSlowerThanNs: 2e9 } },
  });
  assert.equal(c.traceWindowMs, 1500);
  const e = config([], { WIRETRACE_SAMPLE_RATE: '0.25', WIRETRACE_SAMPLE_SERVICES: 'a=0,b=.5:250ms', WIRETRACE_TRACE_WINDOW: '500ms' });
  assert.deepEqual(e.sampling, { rate: 0.25, services: { a: { rate: 0 }, b: { rate: 0.5, keepSlowerThanNs: 250e6 } } });
  assert.equal(e.traceWindowMs, 500);
  // Only a service rate: the default rate stays 1.
  assert.deepEqual(config(['--sample-service', 'x=0.1']).sampling, { rate: 1, services: { x: { rate: 0.1 } } });
});

test('bad sampling flags fail with one clear line', () => {
  const bad: Array<[string[], RegExp]> = [
    [['--sample-rate', '1.5'], /from 0 to 1/],
    [['--sample-rate', '-0.1'], /from 0 to 1/],
    [['--sample-keep-slower-than', '5 parsecs'], /duration/],
    [['--sample-service', 'checkout'], /NAME=RATE/],
    [['--sample-service', 'checkout=2'], /from 0 to 1/],
    [['--trace-window', '10ms'], /between 100 ms and 60000 ms/],
  ];
  for (const [argv, message] of bad) assert.throws(() => parseConfig(argv, {}), (e: unknown) => e instanceof ConfigError && message.test(e.message), argv.join(' '));
});

test('--help lists the new flags with their variables', () => {
  const help = helpText();
  for (const name of ['otlp-endpoint', 'otlp-header', 'otlp-compression', 'otlp-batch-size', 'otlp-queue-size', 'sample-rate', 'sample-keep-slower-than', 'sample-service', 'trace-window']) {
    assert.match(help, new RegExp(`--${name} `));
  }
  assert.match(help, /WIRETRACE_OTLP_ENDPOINT/);
  assert.match(help, /WIRETRACE_SAMPLE_RATE/);
});
