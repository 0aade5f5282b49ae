import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  extractCorrelationIds,
  normaliseRequestId,
  parseCorrelationId,
} from '../../../backend-agent/src/context/correlation.js';
import { indexHeaders, type InvalidHeader } from '../../../backend-agent/src/context/headers.js';

describe('correlation ids', () => {
  it('reads x-request-id, x-correlation-id and request-id, trimmed', () => {
    const invalid: InvalidHeader[] = [];
    const ids = extractCorrelationIds(
      indexHeaders([['x-request-id', ' abc-123 '], ['x-correlation-id', 'corr-1'], ['request-id', '|4bf92f35.1.']]),
      invalid,
    );
    assert.deepEqual(ids, { requestId: 'abc-123', correlationId: 'corr-1', bareRequestId: '|4bf92f35.1.' });
    assert.deepEqual(invalid, []);
  });

  it('rejects empty, over-long and control-character values', () => {
    assert.deepEqual(parseCorrelationId('   '), { ok: false, reason: 'empty' });
    assert.equal(parseCorrelationId('x'.repeat(256)).ok, true);
    assert.equal(parseCorrelationId('x'.repeat(257)).ok, false);
    for (const value of ['a\u0000b', 'a\u001fb', 'a\u007fb', 'a\tb']) assert.equal(parseCorrelationId(value).ok, false, JSON.stringify(value));
  });

  it('reports rejected and repeated ids', () => {
    const invalid: InvalidHeader[] = [];
    const ids = extractCorrelationIds(
      indexHeaders([['x-request-id', ''], ['x-correlation-id', 'a'], ['x-correlation-id', 'b'], ['request-id', 'ok']]),
      invalid,
    );
    assert.deepEqual(ids, { bareRequestId: 'ok' });
    assert.deepEqual(invalid.map((i) => i.header), ['x-request-id', 'x-correlation-id']);
  });
});

describe('normaliseRequestId', () => {
  const generated = '3e9b7c1a-5f2d-4a8b-9c3d-1e2f3a4b5c6d';

  it('maps the Envoy-rewritten version nibble back so hops compare equal', () => {
    for (const marker of ['4', '9', 'a', 'b', 'c', 'A', 'B']) {
      const rewritten = `${generated.slice(0, 14)}${marker}${generated.slice(15)}`;
      assert.equal(normaliseRequestId(rewritten), generated, rewritten);
    }
  });

  it('lowercases UUIDs so case differences do not split them', () => {
    assert.equal(normaliseRequestId(generated.toUpperCase()), generated);
  });

  it('leaves ids that are not UUID-shaped alone', () => {
    for (const id of ['abc', `${generated}0`, generated.replace(/-/g, ''), `${generated.slice(0, 35)}g`, generated.replace('-', '_'), '|4bf92f35.1.']) {
      assert.equal(normaliseRequestId(id), id);
    }
  });
});
