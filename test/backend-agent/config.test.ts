import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, helpText, parseConfig, type AgentConfig } from '../../backend-agent/src/config.js';

function run(argv: string[], env: Record<string, string> = {}): AgentConfig {
  const r = parseConfig(argv, env);
  assert.equal(r.kind, 'run');
  return (r as { kind: 'run'; config: AgentConfig }).config;
}

test('safe defaults: loopback API, capture on, 4 KiB payload, 24h/1GiB retention, no token', () => {
  const c = run([]);
  assert.equal(c.listenHost, '127.0.0.1');
  assert.equal(c.listenPort, 9797);
  assert.equal(c.capture, true);
  assert.equal(c.maxPayload, 4096);
  assert.equal(c.retentionMaxAgeMs, 24 * 3600 * 1000);
  assert.equal(c.retentionMaxSizeBytes, 2 ** 30);
  assert.equal(c.token, undefined);
  assert.match(c.loaderPath, /bpf\/wiretrace-loader$/);
});

test('flags win over environment variables; every flag has an env twin', () => {
  const env = { WIRETRACE_DB: '/tmp/env.db', WIRETRACE_LISTEN: '0.0.0.0:1234', WIRETRACE_PORTS: '80, 443', WIRETRACE_CAPTURE: 'off' };
  const c = run(['--db', '/tmp/flag.db', '--port=8080'], env);
  assert.equal(c.dbPath, '/tmp/flag.db');
  assert.equal(c.listenHost, '0.0.0.0');
  assert.equal(c.listenPort, 1234);
  assert.deepEqual(c.filters.ports, [8080]);
  assert.equal(c.capture, false);
  assert.deepEqual(run([], env).filters.ports, [80, 443]);
  for (const line of helpText().split('\n').filter((l) => l.trim().startsWith('--') && !/--(help|version)/.test(l))) {
    assert.ok(line.includes('--'), line);
  }
  assert.match(helpText(), /\[WIRETRACE_TOKEN\]/);
});

test('repeatable filters, IPv6 listen address, retention units', () => {
  const c = run(['--pid', '10', '--pid', '11', '--exclude-port', '22', '--listen', '[::1]:9000', '--retention-age', '7d', '--retention-size', '500MB']);
  assert.deepEqual(c.filters.pids, [10, 11]);
  assert.deepEqual(c.filters.excludePorts, [22]);
  assert.equal(c.listenHost, '::1');
  assert.equal(c.retentionMaxAgeMs, 7 * 86_400_000);
  assert.equal(c.retentionMaxSizeBytes, 500e6);
});

test('bad input is a one-line ConfigError naming the flag', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--nope'], /unknown option --nope/],
    [['--listen', 'localhost'], /--listen must be HOST:PORT/],
    [['--listen', 'h:99999'], /port out of range/],
    [['--max-payload', '1'], /between 64 and 16384/],
    [['--pid', 'abc'], /--pid must be a whole number/],
    [['--capture', 'maybe'], /on or off/],
    [['--retention-age', '5'], /duration/],
    [['--retention-size', '10'], /at least 1MB/],
    [['--token', 'short'], /at least 8/],
    [['--db'], /needs a value/],
    [['stray'], /unexpected argument/],
    [['--capture-pipe', '/tmp/f', '--replay', '/tmp/r'], /exclude each other/],
    [['--capture-pipe', '/tmp/f', '--capture', 'on'], /exclude each other/],
  ];
  for (const [argv, re] of cases) {
    assert.throws(() => parseConfig(argv, {}), (e: unknown) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'), argv.join(' '));
  }
});

test('--capture-pipe and --replay turn off the loader the agent would start', () => {
  const piped = run(['--capture-pipe', 'capture.fifo']);
  assert.equal(piped.capture, false);
  assert.match(piped.capturePipe ?? '', /\/capture\.fifo$/);
  const replayed = run(['--replay', 'x.wtrc']);
  assert.equal(replayed.capture, false);
  assert.match(replayed.replayPath ?? '', /\/x\.wtrc$/);
});

test('--help and --version short-circuit', () => {
  assert.equal(parseConfig(['--db', 'x', '--help'], {}).kind, 'help');
  assert.equal(parseConfig(['--version'], {}).kind, 'version');
});

test('--record-header is repeatable, lowercased, deduplicated, and rejects non-header names', () => {
  assert.equal(run([]).recordHeaders, undefined);
  assert.deepEqual(run(['--record-header', 'X-Demo-Call', '--record-header', 'x-demo-call', '--record-header', 'x-tenant']).recordHeaders, ['x-demo-call', 'x-tenant']);
  assert.deepEqual(run([], { WIRETRACE_RECORD_HEADERS: 'a-b, c' }).recordHeaders, ['a-b', 'c']);
  assert.throws(() => parseConfig(['--record-header', 'bad header'], {}), ConfigError);
});

test('--nice sets the scheduling niceness of agent and loader: 0..19, env twin, default 0', () => {
  assert.equal(run([]).nice, 0);
  assert.equal(run(['--nice', '10']).nice, 10);
  assert.equal(run([], { WIRETRACE_NICE: '19' }).nice, 19);
  assert.throws(() => parseConfig(['--nice', '20'], {}), /--nice must be between 0 and 19/);
  assert.throws(() => parseConfig(['--nice', '-1'], {}), /--nice must be a whole number/);
  assert.match(helpText(), /--nice N/);
});

test('--heap-growth sets how far the JS heap may grow past its live size: 0..300, env twin, default 40', () => {
  assert.equal(run([]).heapGrowthPercent, 40);
  assert.equal(run(['--heap-growth', '0']).heapGrowthPercent, 0);
  assert.equal(run(['--heap-growth=100']).heapGrowthPercent, 100);
  assert.equal(run([], { WIRETRACE_HEAP_GROWTH: '25' }).heapGrowthPercent, 25);
  assert.equal(run(['--heap-growth', '75'], { WIRETRACE_HEAP_GROWTH: '25' }).heapGrowthPercent, 75);
  assert.throws(() => parseConfig(['--heap-growth', '301'], {}), /--heap-growth must be between 0 and 300/);
  assert.throws(() => parseConfig(['--heap-growth', '50%'], {}), /--heap-growth must be a whole number/);
  assert.match(helpText(), /--heap-growth PERCENT/);
});
