import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalisePath, operationName } from '../../../backend-agent/src/spans/operation-name.js';
import { derivedIds, derivedSpanId } from '../../../backend-agent/src/spans/ids.js';

test('id-like path segments collapse to {id}', () => {
  assert.equal(normalisePath('/orders/1234'), '/orders/{id}');
  assert.equal(normalisePath('/users/3f2504e0-4f89-11d3-9a0c-0305e82c3301/cart'), '/users/{id}/cart');
  assert.equal(normalisePath('/blobs/deadbeef12'), '/blobs/{id}');
  assert.equal(normalisePath('/api/v1/items'), '/api/v1/items', 'short words with digits stay');
  assert.equal(normalisePath('/checkout'), '/checkout');
  assert.equal(normalisePath(''), '/');
  assert.equal(operationName('GET', '/items/42'), 'GET /items/{id}');
});

test('very deep paths are cut to bound cardinality', () => {
  const deep = `/${Array.from({ length: 20 }, (_, i) => `s${String.fromCharCode(97 + i)}`).join('/')}`;
  assert.equal(normalisePath(deep).split('/').length, 10);
  assert.ok(normalisePath(deep).endsWith('/…'));
});

test('derived ids are stable, well-formed and distinct per key', () => {
  assert.deepEqual(derivedIds('a'), derivedIds('a'));
  assert.match(derivedIds('a').traceId, /^[0-9a-f]{32}$/);
  assert.match(derivedIds('a').spanId, /^[0-9a-f]{16}$/);
  assert.notEqual(derivedIds('a').traceId, derivedIds('b').traceId);
  assert.match(derivedSpanId('a'), /^[0-9a-f]{16}$/);
  assert.notEqual(derivedSpanId('a'), derivedSpanId('b'));
});
