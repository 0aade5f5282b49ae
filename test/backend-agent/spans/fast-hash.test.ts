import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash128Hex, hash128HexPair } from '../../../backend-agent/src/spans/fast-hash.js';
import { derivedIds, derivedSpanId } from '../../../backend-agent/src/spans/ids.js';

test('the hash is pinned: derived ids must not change between agent versions without reason', () => {
  assert.equal(hash128Hex('', 0), 'ca355e9c6c0b76e0808276abcb1de23a');
  assert.equal(hash128Hex('wiretrace', 0), '8f785b7233861299f25cc4234f4f9c42');
  assert.deepEqual(derivedIds('1234-99|7|3|client'), { traceId: 'd540aa813d1d0766c020d8738131c912', spanId: 'd8d916b5e28fa67e' });
  assert.equal(derivedSpanId('1234-99|7|3|server|00f067aa0ba902b7'), 'e1ca71fd9a2123f3');
});

test('a prefix of the digest is its first bytes; seeds and lengths change it', () => {
  const full = hash128Hex('session|12|0|client', 7);
  assert.equal(hash128Hex('session|12|0|client', 7, 8), full.slice(0, 16));
  assert.notEqual(hash128Hex('session|12|0|client', 8), full);
  assert.notEqual(hash128Hex('a', 0), hash128Hex('a\u0000', 0), 'a trailing NUL code unit is not padding');
  assert.notEqual(hash128Hex('ab', 0), hash128Hex('ba', 0));
});

test('short keys do not give repeated 32-bit groups', () => {
  for (const key of ['', 'a', 'ab', 'abc']) {
    const h = hash128Hex(key, 0);
    const groups = new Set([h.slice(0, 8), h.slice(8, 16), h.slice(16, 24), h.slice(24, 32)]);
    assert.equal(groups.size, 4, `${JSON.stringify(key)} -> ${h}`);
  }
});

test('ids of exchange keys are distinct and every output bit is balanced', () => {
  const n = 50_000;
  const traces = new Set<string>();
  const spans = new Set<string>();
  const ones = new Array<number>(128).fill(0);
  for (let i = 0; i < n; i++) {
    // The span builder's key shape: session | connection | exchange index | side.
    const { traceId, spanId } = derivedIds(`4242-1795652528073600000|${i % 97}|${Math.floor(i / 97)}|${i % 2 ? 'client' : 'server'}`);
    traces.add(traceId);
    spans.add(spanId);
    for (let d = 0; d < 32; d++) {
      const v = parseInt(traceId[d]!, 16);
      for (let b = 0; b < 4; b++) if (v & (8 >> b)) ones[d * 4 + b]!++;
    }
  }
  assert.equal(traces.size, n);
  assert.equal(spans.size, n);
  // Each bit is a fair coin: 50,000 flips stay within ±1.5% of half (over 6 sigma).
  for (const count of ones) assert.ok(Math.abs(count / n - 0.5) < 0.015, `bit set in ${count} of ${n}`);
});

test('non-ASCII keys hash by code unit, deterministically', () => {
  assert.equal(hash128Hex('héllo|☃|𝄞', 1), hash128Hex('héllo|☃|𝄞', 1));
  assert.notEqual(hash128Hex('héllo', 1), hash128Hex('hello', 1));
});

test('the paired form gives exactly the two single digests', () => {
  for (const key of ['', 'a', '0|1|2|client', 'x'.repeat(41), 'é∑|7']) {
    for (const bytes of [8, 16]) {
      assert.deepEqual(hash128HexPair(key, 11, 22, bytes), [hash128Hex(key, 11), hash128Hex(key, 22, bytes)]);
    }
  }
});
