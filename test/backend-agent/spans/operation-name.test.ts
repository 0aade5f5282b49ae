import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalisePath, operationName } from '../../../backend-agent/src/spans/operation-name.js';
import { derivedIds, derivedSpanId } from '../../../backend-agent/src/spans/ids.js';
import { seededRandom } from '../fixtures/seeded-random.js';

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

// The regular expressions normalisePath used before it walked paths by hand:
// the walk must judge every segment as they did.
const REFERENCE_ID_PATTERNS: RegExp[] = [
  /^\d+$/,
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
  /^(?=.*\d)[0-9a-f]{8,}$/i,
  /^(?=.*\d)(?=.*[a-zA-Z])[A-Za-z0-9_-]{16,}$/,
];

function referenceNormalise(path: string): string {
  const segments = path.split('/');
  const out = segments.slice(0, 9).map((seg) => (seg && REFERENCE_ID_PATTERNS.some((re) => re.test(seg)) ? '{id}' : seg));
  if (segments.length > 9) out.push('…');
  return out.join('/') || '/';
}

test('normalisePath judges segments exactly as the id patterns do', () => {
  const random = seededRandom(8);
  const alphabet = '0123456789abcdefABCDEFxyzXYZ-_.~%é/';
  const pick = (s: string): string => s[Math.floor(random() * s.length)]!;
  const samples = [
    '', '/', '//', '/a//b/', '/12/ab/3f2504e0-4f89-11d3-9a0c-0305e82c3301', '/3F2504E0-4F89-11D3-9A0C-0305E82C3301',
    '/abcdefab-abcd-abcd-abcd-abcdefabcdef/x', '/deadbeef', '/deadbee1', '/deadbe1', '/abc_def-1234567890', '/abc_def-123456789',
    '/aaaaaaaaaaaaaaaa1', '/1111111111111111', '/a/b/c/d/e/f/g/h', '/a/b/c/d/e/f/g/h/', '/a/b/c/d/e/f/g/h/i', '/1/2/3/4/5/6/7/8/9/10',
    'no-leading-slash/42', '*', '/x\n1', '/12 34', '/١٢٣',
  ];
  for (let n = 0; n < 4000; n++) {
    let path = random() < 0.8 ? '/' : '';
    const length = Math.floor(random() * 60);
    for (let i = 0; i < length; i++) path += pick(alphabet);
    samples.push(path);
  }
  for (const path of samples) assert.equal(normalisePath(path), referenceNormalise(path), JSON.stringify(path));
});
