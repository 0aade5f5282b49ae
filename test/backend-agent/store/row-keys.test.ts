import { test } from 'node:test';
import assert from 'node:assert/strict';
import { key52, spanKey, traceKey } from '../../../backend-agent/src/store/row-keys.js';
import { traceIdOf } from '../fixtures/spans.js';

// The keys are stored in every span row (schema v8): a change to the hash
// would make stored spans unreachable through the identity index.
test('identity keys are pinned: stored rows are found by the keys they were written with', () => {
  assert.equal(traceKey('00000000000000000000000000000001'), 3675962915832653);
  assert.equal(traceKey('4bf92f3577b34da6a3ce929d0e0e4736'), 3375406964546555);
  assert.equal(traceKey(''), 1720750580168817);
  assert.equal(spanKey('00f067aa0ba902b7', 'client', 'host-a', 1000, '1', 0), 4271438937223929);
});

test('keys are exact integers below 2^52 and distinct for sequential ids', () => {
  const keys = new Set<number>();
  for (let i = 1; i <= 20_000; i++) {
    const k = traceKey(traceIdOf(i));
    assert.ok(Number.isSafeInteger(k) && k >= 0 && k < 2 ** 52, `key of trace ${i}`);
    keys.add(k);
    keys.add(spanKey(traceIdOf(i).slice(16), 'server', 'host-a', 1000, String(i), 0));
  }
  assert.equal(keys.size, 40_000, 'no collisions among 40,000 sequential inputs');
});

test('spanKey hashes its pieces as key52 hashes their joined text', () => {
  const cases: Array<[string, string, string, number, string, number]> = [
    ['00f067aa0ba902b7', 'client', 'host-a', 1000, '1', 0],
    ['', 'server', '', 0, '', 0],
    ['a|b', 'client', 'h|ost', -1, '|', 7],
    ['ffffffffffffffff', 'server', 'hôst-ü-\u{1f600}', 4_194_304, '18446744073709551615', 2 ** 31],
    ['x', 'client', 'h', 1e21, 'c', 1.5],
  ];
  for (const [spanId, kind, host, pid, connectionId, exchangeIndex] of cases) {
    assert.equal(
      spanKey(spanId, kind, host, pid, connectionId, exchangeIndex),
      key52(`${spanId}|${kind}|${pid}|${exchangeIndex}|${host}|${connectionId}`, 0x2),
      `${spanId} ${kind} ${host} ${pid} ${connectionId} ${exchangeIndex}`,
    );
  }
});
