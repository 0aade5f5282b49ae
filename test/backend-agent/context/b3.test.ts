import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  extractB3MultiContext,
  extractB3SingleContext,
  parseB3Multi,
  parseB3Single,
} from '../../../backend-agent/src/context/b3.js';
import { indexHeaders, type InvalidHeader } from '../../../backend-agent/src/context/headers.js';

const TRACE_128 = '80f198ee56343ba864fe8b2a57d3eff7';
const TRACE_64 = '463ac35c9f6413ad';
const SPAN = 'e457b5a2e4d86bd1';
const PARENT = '05e3ac9a4f6e3b90';

function single(value: string) {
  const invalid: InvalidHeader[] = [];
  return { context: extractB3SingleContext(indexHeaders([['b3', value]]), invalid), invalid };
}

function multi(headers: Array<[string, string]>) {
  const invalid: InvalidHeader[] = [];
  return { context: extractB3MultiContext(indexHeaders(headers), invalid), invalid };
}

describe('b3 single header', () => {
  it('parses all four fields', () => {
    assert.deepEqual(single(`${TRACE_128}-${SPAN}-1-${PARENT}`).context, {
      source: 'b3-single',
      traceId: TRACE_128,
      callerSpanId: SPAN,
      callerParentSpanId: PARENT,
      sampled: true,
    });
  });

  it('parses trace and span ids only, leaving sampling undecided', () => {
    assert.deepEqual(single(`${TRACE_128}-${SPAN}`).context, { source: 'b3-single', traceId: TRACE_128, callerSpanId: SPAN });
  });

  it('reads sampling 1, 0 and d (debug implies sampled)', () => {
    assert.equal(single(`${TRACE_128}-${SPAN}-1`).context?.sampled, true);
    assert.equal(single(`${TRACE_128}-${SPAN}-0`).context?.sampled, false);
    assert.equal(single(`${TRACE_128}-${SPAN}-d`).context?.sampled, true);
  });

  it('left-pads a 64-bit trace id to 32 hex digits', () => {
    assert.equal(single(`${TRACE_64}-${SPAN}-1`).context?.traceId, `0000000000000000${TRACE_64}`);
  });

  it('treats b3: 0, 1 and d alone as a sampling decision without context', () => {
    for (const [value, sampled] of [['0', false], ['1', true], ['d', true]] as const) {
      assert.deepEqual(parseB3Single(value), { ok: true, value: { kind: 'sampling-only', sampled } });
      const { context, invalid } = single(value);
      assert.equal(context, undefined);
      assert.deepEqual(invalid, []);
    }
  });

  it('rejects uppercase hex', () => {
    for (const value of [`${TRACE_128.toUpperCase()}-${SPAN}`, `${TRACE_128}-${SPAN.toUpperCase()}`, `${TRACE_128}-${SPAN}-1-${PARENT.toUpperCase()}`]) {
      assert.equal(parseB3Single(value).ok, false, value);
    }
  });

  it('rejects wrong id lengths', () => {
    const bad = [
      `${TRACE_128.slice(1)}-${SPAN}`,
      `${TRACE_64.slice(1)}-${SPAN}`,
      `${TRACE_128}0-${SPAN}`,
      `${TRACE_128}-${SPAN.slice(1)}`,
      `${TRACE_128}-${SPAN}0`,
      `${TRACE_128}-${SPAN}-1-${PARENT.slice(1)}`,
    ];
    for (const value of bad) assert.equal(parseB3Single(value).ok, false, value);
  });

  it('rejects all-zero ids', () => {
    assert.equal(parseB3Single(`${'0'.repeat(32)}-${SPAN}`).ok, false);
    assert.equal(parseB3Single(`${'0'.repeat(16)}-${SPAN}`).ok, false);
    assert.equal(parseB3Single(`${TRACE_128}-${'0'.repeat(16)}`).ok, false);
    assert.equal(parseB3Single(`${TRACE_128}-${SPAN}-1-${'0'.repeat(16)}`).ok, false);
  });

  it('rejects bad sampling states and malformed shapes', () => {
    const bad = [
      `${TRACE_128}-${SPAN}-true`,
      `${TRACE_128}-${SPAN}-2`,
      `${TRACE_128}-${SPAN}-`,
      `${TRACE_128}-${SPAN}-1-${PARENT}-extra`,
      `${TRACE_128}`,
      'true',
      '',
      '-',
    ];
    for (const value of bad) {
      const { context, invalid } = single(value);
      assert.equal(context, undefined, value);
      assert.equal(invalid.length, 1, value);
      assert.equal(invalid[0]!.header, 'b3');
    }
  });

  it('rejects a repeated b3 header', () => {
    const invalid: InvalidHeader[] = [];
    const value = `${TRACE_128}-${SPAN}`;
    assert.equal(extractB3SingleContext(indexHeaders([['b3', value], ['b3', value]]), invalid), undefined);
    assert.match(invalid[0]!.reason, /repeated/);
  });
});

describe('b3 multi headers', () => {
  it('parses a full set', () => {
    assert.deepEqual(
      multi([
        ['x-b3-traceid', TRACE_128],
        ['x-b3-spanid', SPAN],
        ['x-b3-parentspanid', PARENT],
        ['x-b3-sampled', '1'],
      ]).context,
      { source: 'b3', traceId: TRACE_128, callerSpanId: SPAN, callerParentSpanId: PARENT, sampled: true },
    );
  });

  it('left-pads a 64-bit trace id', () => {
    assert.equal(multi([['x-b3-traceid', TRACE_64], ['x-b3-spanid', SPAN]]).context?.traceId, `0000000000000000${TRACE_64}`);
  });

  it('reads x-b3-sampled 1/0/true/false', () => {
    for (const [value, sampled] of [['1', true], ['0', false], ['true', true], ['false', false]] as const) {
      const result = parseB3Multi({ traceId: TRACE_128, spanId: SPAN, sampled: value });
      assert.equal(result.ok && result.value?.sampled, sampled, value);
    }
  });

  it('treats x-b3-flags: 1 as debug, which means sampled', () => {
    assert.equal(multi([['x-b3-traceid', TRACE_128], ['x-b3-spanid', SPAN], ['x-b3-flags', '1']]).context?.sampled, true);
    assert.equal(
      multi([['x-b3-traceid', TRACE_128], ['x-b3-spanid', SPAN], ['x-b3-sampled', '0'], ['x-b3-flags', '1']]).context?.sampled,
      true,
    );
    assert.equal(multi([['x-b3-traceid', TRACE_128], ['x-b3-spanid', SPAN], ['x-b3-flags', '0']]).context?.sampled, undefined);
  });

  it('gives no context and no error for a bare sampling decision', () => {
    assert.deepEqual(multi([['x-b3-sampled', '0']]), { context: undefined, invalid: [] });
    assert.deepEqual(parseB3Multi({}), { ok: true, value: undefined });
  });

  it('names the offending header when rejecting', () => {
    const cases: Array<[Array<[string, string]>, string]> = [
      [[['x-b3-traceid', TRACE_128.toUpperCase()], ['x-b3-spanid', SPAN]], 'x-b3-traceid'],
      [[['x-b3-traceid', TRACE_128], ['x-b3-spanid', SPAN.toUpperCase()]], 'x-b3-spanid'],
      [[['x-b3-traceid', TRACE_128], ['x-b3-spanid', SPAN], ['x-b3-parentspanid', 'abc']], 'x-b3-parentspanid'],
      [[['x-b3-traceid', TRACE_128], ['x-b3-spanid', SPAN], ['x-b3-sampled', 'yes']], 'x-b3-sampled'],
      [[['x-b3-traceid', TRACE_128], ['x-b3-spanid', SPAN], ['x-b3-flags', '2']], 'x-b3-flags'],
      [[['x-b3-traceid', TRACE_128]], 'x-b3-spanid'],
      [[['x-b3-spanid', SPAN]], 'x-b3-traceid'],
      [[['x-b3-parentspanid', PARENT]], 'x-b3-parentspanid'],
      [[['x-b3-traceid', '0'.repeat(32)], ['x-b3-spanid', SPAN]], 'x-b3-traceid'],
      [[['x-b3-traceid', TRACE_128], ['x-b3-spanid', '0'.repeat(16)]], 'x-b3-spanid'],
      [[['x-b3-traceid', TRACE_128], ['x-b3-spanid', SPAN], ['x-b3-parentspanid', '0'.repeat(16)]], 'x-b3-parentspanid'],
      [[['x-b3-traceid', `${TRACE_64}0`], ['x-b3-spanid', SPAN]], 'x-b3-traceid'],
      [[['x-b3-traceid', TRACE_128], ['x-b3-spanid', TRACE_128]], 'x-b3-spanid'],
      [[['x-b3-traceid', TRACE_128], ['x-b3-traceid', TRACE_128], ['x-b3-spanid', SPAN]], 'x-b3-traceid'],
    ];
    for (const [headers, header] of cases) {
      const { context, invalid } = multi(headers);
      assert.equal(context, undefined, JSON.stringify(headers));
      assert.deepEqual(invalid.map((i) => i.header), [header], JSON.stringify(headers));
    }
  });
});
