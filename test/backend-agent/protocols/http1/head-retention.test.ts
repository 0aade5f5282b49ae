/**
 * The parser cuts every field out of one decoded head, and V8 keeps a cut
 * string's whole parent alive: fields that outlive the parser (span
 * attributes, cache keys) must not pin big heads. Measured on the heap after
 * full GCs; the bound is far below what pinning costs (one 60 KB head per
 * message kept: ~60 MiB here), far above the strings kept themselves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { parseHead } from '../../../../backend-agent/src/protocols/http1/head.js';
import { targetQuery } from '../../../../backend-agent/src/protocols/http1/target.js';
import { createRedactor } from '../../../../backend-agent/src/context/redact.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function heapUsedMiB(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

const MESSAGES = 1024;
const PAD = 'a'.repeat(60_000);

function parseMany(onHead: (target: string, headers: readonly (readonly [string, string])[]) => void): number {
  const before = heapUsedMiB();
  for (let i = 0; i < MESSAGES; i++) {
    const id = String(i).padStart(8, '0');
    // A distinct query key and a distinct mixed-case header name per message: both caches take a new key each time.
    const head =
      `GET /orders/${id}?filter_key_${id}=v HTTP/1.1\r\nHost: shop.example\r\n` +
      `traceparent: 00-${id.repeat(4)}-${id.repeat(2)}-01\r\nX-Custom-Name-${id}: 1\r\nX-Pad: ${PAD}\r\n\r\n`;
    const buf = Buffer.from(head, 'latin1');
    const parsed = parseHead('request', buf, 0, buf.length, false);
    assert.ok(parsed && parsed.kind === 'request');
    onHead(parsed.target, parsed.headers);
  }
  return heapUsedMiB() - before;
}

test('cache keys from big heads (query keys, header names) do not keep the heads alive', () => {
  const redactor = createRedactor();
  const grewMiB = parseMany((target, headers) => {
    redactor.redactQuery(targetQuery(target));
    for (const [name, value] of headers) redactor.redactHeaderValue(name, value);
  });
  assert.ok(grewMiB < 16, `the heap grew ${grewMiB.toFixed(1)} MiB with ${MESSAGES} 60 KB heads parsed and redacted`);
});

test('fields a span keeps from big heads do not keep the heads alive', () => {
  const kept: string[] = [];
  const grewMiB = parseMany((target, headers) => {
    kept.push(target, headers.find(([n]) => n === 'traceparent')![1]);
  });
  assert.equal(kept.length, 2 * MESSAGES);
  assert.ok(grewMiB < 16, `the heap grew ${grewMiB.toFixed(1)} MiB keeping ${kept.length} short strings from ${MESSAGES} 60 KB heads`);
});
