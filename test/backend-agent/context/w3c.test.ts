import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { indexHeaders, type InvalidHeader } from '../../../backend-agent/src/context/headers.js';
import {
  extractW3cContext,
  isTracestateKey,
  isTracestateValue,
  parseTraceparent,
  parseTracestate,
} from '../../../backend-agent/src/context/w3c.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const VALID = `00-${TRACE_ID}-${PARENT_ID}-01`;

function extract(headers: Array<[string, string]>) {
  const invalid: InvalidHeader[] = [];
  const context = extractW3cContext(indexHeaders(headers), invalid);
  return { context, invalid };
}

function rejects(value: string, reasonPart: RegExp): void {
  const result = parseTraceparent(value);
  assert.equal(result.ok, false, `expected ${JSON.stringify(value)} to be rejected`);
  if (!result.ok) assert.match(result.reason, reasonPart);
}

describe('traceparent', () => {
  it('parses the spec example', () => {
    assert.deepEqual(parseTraceparent(VALID), {
      ok: true,
      value: { version: '00', traceId: TRACE_ID, parentId: PARENT_ID, flags: 1 },
    });
  });

  it('reads sampled from bit 0 of the flags only', () => {
    const cases: Array<[string, boolean]> = [['00', false], ['01', true], ['02', false], ['03', true], ['ff', true], ['fe', false]];
    for (const [flags, sampled] of cases) {
      const { context } = extract([['traceparent', `00-${TRACE_ID}-${PARENT_ID}-${flags}`]]);
      assert.equal(context?.sampled, sampled, flags);
    }
  });

  it('maps to a w3c TraceContext with the parent-id as caller span', () => {
    assert.deepEqual(extract([['traceparent', VALID]]).context, {
      source: 'w3c',
      traceId: TRACE_ID,
      callerSpanId: PARENT_ID,
      sampled: true,
    });
  });

  it('accepts surrounding optional whitespace (spaces, tabs)', () => {
    assert.equal(parseTraceparent(`  ${VALID}\t`).ok, true);
  });

  it('rejects uppercase hex in every field', () => {
    rejects(`00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`, /trace-id/);
    rejects(`00-${TRACE_ID}-${PARENT_ID.toUpperCase()}-01`, /parent-id/);
    rejects(`00-${TRACE_ID}-${PARENT_ID}-0A`, /trace-flags/);
    rejects(`0A-${TRACE_ID}-${PARENT_ID}-01`, /version/);
  });

  it('rejects non-hex characters', () => {
    rejects(`00-${TRACE_ID.slice(0, 31)}g-${PARENT_ID}-01`, /trace-id/);
    rejects(`00-${TRACE_ID}-${PARENT_ID.slice(0, 15)}z-01`, /parent-id/);
    rejects(`00-${TRACE_ID}-${PARENT_ID}-0x`, /trace-flags/);
    rejects(`.0-${TRACE_ID}-${PARENT_ID}-01`, /version/);
  });

  it('rejects wrong field lengths', () => {
    rejects(`00-${TRACE_ID.slice(1)}-${PARENT_ID}-01`, /too short/);
    rejects(`00-${TRACE_ID}0-${PARENT_ID}-01`, /exactly 55/);
    rejects(`00-${TRACE_ID}-${PARENT_ID.slice(1)}-01`, /too short/);
    rejects(`00-${TRACE_ID}-${PARENT_ID}-1`, /too short/);
    rejects(`0-${TRACE_ID}-${PARENT_ID}-01`, /too short/);
    // Right total length, misplaced separators.
    rejects(`00-${TRACE_ID.slice(1)}-${PARENT_ID}0-01`, /separated/);
    rejects(`00-${TRACE_ID}-${PARENT_ID}0-1`, /separated/);
    rejects('', /too short/);
  });

  it('rejects other separators', () => {
    rejects(`00_${TRACE_ID}-${PARENT_ID}-01`, /separated/);
    rejects(`00-${TRACE_ID}_${PARENT_ID}-01`, /separated/);
    rejects(`00-${TRACE_ID}-${PARENT_ID}_01`, /separated/);
  });

  it('rejects an all-zero trace-id or parent-id', () => {
    rejects(`00-${'0'.repeat(32)}-${PARENT_ID}-01`, /trace-id is all zeros/);
    rejects(`00-${TRACE_ID}-${'0'.repeat(16)}-01`, /parent-id is all zeros/);
  });

  it('rejects version ff', () => {
    rejects(`ff-${TRACE_ID}-${PARENT_ID}-01`, /version ff/);
  });

  it('rejects version 00 with trailing data, even when it looks like a future field', () => {
    rejects(`${VALID}-`, /exactly 55/);
    rejects(`${VALID}-00`, /exactly 55/);
    rejects(`${VALID}x`, /exactly 55/);
  });

  it('parses higher versions for the four known fields', () => {
    const plain = parseTraceparent(`cc-${TRACE_ID}-${PARENT_ID}-01`);
    assert.equal(plain.ok && plain.value.version, 'cc');
    const extended = parseTraceparent(`01-${TRACE_ID}-${PARENT_ID}-01-what-the-future-holds`);
    assert.deepEqual(extended, { ok: true, value: { version: '01', traceId: TRACE_ID, parentId: PARENT_ID, flags: 1 } });
    assert.equal(parseTraceparent(`fe-${TRACE_ID}-${PARENT_ID}-00-`).ok, true);
  });

  it('rejects a higher version whose flags are followed by anything but "-"', () => {
    rejects(`01-${TRACE_ID}-${PARENT_ID}-01x`, /must start with "-"/);
    rejects(`01-${TRACE_ID}-${PARENT_ID}-011`, /must start with "-"/);
    rejects(`01-${TRACE_ID}-${PARENT_ID}-01.future`, /must start with "-"/);
  });

  it('still validates the known fields of a higher version', () => {
    rejects(`01-${'0'.repeat(32)}-${PARENT_ID}-01-x`, /all zeros/);
    rejects(`01-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01-x`, /trace-id/);
  });

  it('treats repeated traceparent headers as invalid', () => {
    const { context, invalid } = extract([['traceparent', VALID], ['traceparent', VALID]]);
    assert.equal(context, undefined);
    assert.deepEqual(invalid.map((i) => i.header), ['traceparent']);
    assert.match(invalid[0]!.reason, /repeated/);
  });
});

describe('tracestate keys and values', () => {
  it('accepts simple keys of lcalpha followed by lcalpha, digits, _ - * /', () => {
    for (const key of ['a', 'congo', 'rojo', 'a1_-*/', 'x'.repeat(256)]) assert.equal(isTracestateKey(key), true, key);
  });

  it('rejects bad simple keys', () => {
    for (const key of ['', '1abc', '_a', 'A', 'aB', 'a.b', 'a b', 'a=b', 'a,b', 'é', 'x'.repeat(257)]) {
      assert.equal(isTracestateKey(key), false, key);
    }
  });

  it('accepts multi-tenant keys tenant@system', () => {
    for (const key of ['fw529a3039@dt', '1tenant@sys', 't@s', `${'a'.repeat(241)}@${'b'.repeat(14)}`, 'a_-*/@b_-*/']) {
      assert.equal(isTracestateKey(key), true, key);
    }
  });

  it('rejects bad multi-tenant keys', () => {
    const bad = ['@sys', 'tenant@', 'tenant@1sys', 'Tenant@sys', 'a@b@c', `${'a'.repeat(242)}@b`, `a@${'b'.repeat(15)}`, '_t@s'];
    for (const key of bad) assert.equal(isTracestateKey(key), false, key);
  });

  it('accepts printable ASCII values without , and =, up to 256 characters', () => {
    for (const value of ['t61rcWkgMzE', '00f067aa0ba902b7', ' leading', 'a b', '!"#$%&()*+-./:;<>?@[\\]^_`{|}~', 'v'.repeat(256)]) {
      assert.equal(isTracestateValue(value), true, value);
    }
  });

  it('rejects bad values', () => {
    for (const value of ['', 'a,b', 'a=b', 'trailing ', 'tab\t', 'é', '\u007f', 'v'.repeat(257)]) {
      assert.equal(isTracestateValue(value), false, JSON.stringify(value));
    }
  });
});

describe('tracestate lists', () => {
  it('normalises whitespace and empty members', () => {
    assert.deepEqual(parseTracestate(' rojo=00f067aa0ba902b7 ,\t,congo=t61rcWkgMzE,, '), {
      ok: true,
      value: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
    });
  });

  it('gives no state for an empty or blank list', () => {
    assert.deepEqual(parseTracestate(''), { ok: true, value: undefined });
    assert.deepEqual(parseTracestate(' , ,'), { ok: true, value: undefined });
  });

  it('accepts 32 members and rejects 33', () => {
    const members = (n: number) => Array.from({ length: n }, (_, i) => `k${i}=v${i}`).join(',');
    assert.equal(parseTracestate(members(32)).ok, true);
    const over = parseTracestate(members(33));
    assert.equal(over.ok, false);
    if (!over.ok) assert.match(over.reason, /more than 32/);
  });

  it('does not count empty members against the limit', () => {
    const list = Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(',,');
    assert.equal(parseTracestate(list).ok, true);
  });

  it('rejects duplicate keys', () => {
    const result = parseTracestate('a=1,b=2,a=3');
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.reason, /duplicate key "a"/);
  });

  it('rejects members without key=value', () => {
    for (const list of ['novalue', '=v', 'a=', 'a=1,b', 'a=b=c']) assert.equal(parseTracestate(list).ok, false, list);
  });
});

describe('extractW3cContext with tracestate', () => {
  it('attaches a valid tracestate', () => {
    const { context, invalid } = extract([['traceparent', VALID], ['tracestate', 'congo=t61rcWkgMzE']]);
    assert.equal(context?.traceState, 'congo=t61rcWkgMzE');
    assert.deepEqual(invalid, []);
  });

  it('combines repeated tracestate headers in order', () => {
    const { context } = extract([['tracestate', 'a=1'], ['traceparent', VALID], ['tracestate', 'b=2,c=3']]);
    assert.equal(context?.traceState, 'a=1,b=2,c=3');
  });

  it('finds duplicates across repeated tracestate headers', () => {
    const { context, invalid } = extract([['traceparent', VALID], ['tracestate', 'a=1'], ['tracestate', 'a=2']]);
    assert.equal(context?.traceState, undefined);
    assert.equal(context?.traceId, TRACE_ID);
    assert.deepEqual(invalid.map((i) => i.header), ['tracestate']);
  });

  it('drops an invalid tracestate but keeps the traceparent', () => {
    for (const state of ['A=1', 'a=1,a=2', 'a=,b=1', Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',')]) {
      const { context, invalid } = extract([['traceparent', VALID], ['tracestate', state]]);
      assert.ok(context, state);
      assert.equal(context.traceState, undefined, state);
      assert.equal(invalid.length, 1, state);
      assert.equal(invalid[0]!.header, 'tracestate');
    }
  });

  it('ignores tracestate when traceparent is invalid or absent', () => {
    const bad = extract([['traceparent', `ff-${TRACE_ID}-${PARENT_ID}-01`], ['tracestate', 'A=broken']]);
    assert.equal(bad.context, undefined);
    assert.deepEqual(bad.invalid.map((i) => i.header), ['traceparent']);
    const absent = extract([['tracestate', 'A=broken']]);
    assert.equal(absent.context, undefined);
    assert.deepEqual(absent.invalid, []);
  });
});
