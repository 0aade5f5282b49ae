import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { indexHeaders, type InvalidHeader } from '../../../backend-agent/src/context/headers.js';
import { extractXrayContext, parseXrayTraceId } from '../../../backend-agent/src/context/xray.js';

const ROOT = 'Root=1-5759e988-bd862e3fe1be46a994272793';
const TRACE_ID = '5759e988bd862e3fe1be46a994272793';

function reason(value: string): string {
  const result = parseXrayTraceId(value);
  return result.ok ? '' : result.reason;
}

describe('x-amzn-trace-id', () => {
  it('parses the documented example', () => {
    assert.deepEqual(parseXrayTraceId(`${ROOT};Parent=53995c3f42cd8ad8;Sampled=1`), {
      ok: true,
      value: { source: 'xray', traceId: TRACE_ID, callerSpanId: '53995c3f42cd8ad8', sampled: true },
    });
  });

  it('accepts fields in any order, with OWS, unknown fields and Self', () => {
    const result = parseXrayTraceId(`Sampled=0; Self=1-67891234-12456789abcdef012345678;Parent=53995c3f42cd8ad8 ;Lineage=a87bd80c:1|68fd508a:5; ${ROOT};`);
    assert.deepEqual(result, { ok: true, value: { source: 'xray', traceId: TRACE_ID, callerSpanId: '53995c3f42cd8ad8', sampled: false } });
  });

  it('accepts a Root alone (load balancers add only Root)', () => {
    assert.deepEqual(parseXrayTraceId(ROOT), { ok: true, value: { source: 'xray', traceId: TRACE_ID } });
  });

  it('treats Sampled=? as undecided', () => {
    const result = parseXrayTraceId(`${ROOT};Sampled=?`);
    assert.ok(result.ok);
    assert.equal(result.value.sampled, undefined);
  });

  it('rejects a header without Root, even with Self', () => {
    assert.match(reason('Parent=53995c3f42cd8ad8;Sampled=1'), /no Root/);
    assert.match(reason('Self=1-5759e988-bd862e3fe1be46a994272793'), /no Root/);
    assert.match(reason('root=1-5759e988-bd862e3fe1be46a994272793'), /no Root/);
    assert.match(reason(''), /no Root/);
  });

  it('rejects malformed Root values', () => {
    const bad = [
      'Root=2-5759e988-bd862e3fe1be46a994272793',
      'Root=1-5759e98-bd862e3fe1be46a994272793',
      'Root=1-5759e988-bd862e3fe1be46a99427279',
      'Root=1-5759e988-bd862e3fe1be46a9942727930',
      'Root=1-5759E988-bd862e3fe1be46a994272793',
      'Root=1_5759e988-bd862e3fe1be46a994272793',
      'Root=1-5759e988_bd862e3fe1be46a994272793',
      'Root=1-00000000-000000000000000000000000',
      'Root=',
      'Root',
    ];
    for (const value of bad) assert.match(reason(value), /Root/, value);
  });

  it('rejects bad Parent and Sampled values and repeated fields', () => {
    assert.match(reason(`${ROOT};Parent=53995C3F42CD8AD8`), /Parent/);
    assert.match(reason(`${ROOT};Parent=53995c3f42cd8ad`), /Parent/);
    assert.match(reason(`${ROOT};Parent=0000000000000000`), /Parent is all zeros/);
    assert.match(reason(`${ROOT};Sampled=yes`), /Sampled/);
    assert.match(reason(`${ROOT};${ROOT}`), /repeated Root/);
    assert.match(reason(`${ROOT};Parent=53995c3f42cd8ad8;Parent=53995c3f42cd8ad8`), /repeated Parent/);
  });

  it('reports through extractXrayContext', () => {
    const invalid: InvalidHeader[] = [];
    assert.equal(extractXrayContext(indexHeaders([['x-amzn-trace-id', 'Parent=53995c3f42cd8ad8']]), invalid), undefined);
    assert.deepEqual(invalid, [{ header: 'x-amzn-trace-id', reason: 'no Root field' }]);
  });
});
