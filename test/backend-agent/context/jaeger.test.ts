import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { indexHeaders, type InvalidHeader } from '../../../backend-agent/src/context/headers.js';
import { extractJaegerContext, parseUberTraceId } from '../../../backend-agent/src/context/jaeger.js';

function rejected(value: string): string | undefined {
  const result = parseUberTraceId(value);
  return result.ok ? undefined : result.reason;
}

describe('uber-trace-id', () => {
  it('parses a full 128-bit header', () => {
    assert.deepEqual(parseUberTraceId('4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:53995c3f42cd8ad8:1'), {
      ok: true,
      value: {
        source: 'jaeger',
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        callerSpanId: '00f067aa0ba902b7',
        callerParentSpanId: '53995c3f42cd8ad8',
        sampled: true,
      },
    });
  });

  it('left-pads short ids (clients drop leading zeros)', () => {
    const result = parseUberTraceId('abc:def:12:1');
    assert.ok(result.ok);
    assert.equal(result.value.traceId, `${'0'.repeat(29)}abc`);
    assert.equal(result.value.callerSpanId, `${'0'.repeat(13)}def`);
    assert.equal(result.value.callerParentSpanId, `${'0'.repeat(14)}12`);
  });

  it('treats parent 0 as no parent', () => {
    for (const parent of ['0', '0000000000000000']) {
      const result = parseUberTraceId(`463ac35c9f6413ad:72485a3953bb6124:${parent}:1`);
      assert.ok(result.ok);
      assert.equal('callerParentSpanId' in result.value, false);
    }
  });

  it('reads bit 0 of the hex flags as sampled', () => {
    const cases: Array<[string, boolean]> = [['0', false], ['1', true], ['2', false], ['3', true], ['5', true], ['ff', true], ['0a', false]];
    for (const [flags, sampled] of cases) {
      const result = parseUberTraceId(`463ac35c9f6413ad:72485a3953bb6124:0:${flags}`);
      assert.equal(result.ok && result.value.sampled, sampled, flags);
    }
  });

  it('accepts and lowercases uppercase hex', () => {
    const result = parseUberTraceId('463AC35C9F6413AD:72485A3953BB6124:0:1');
    assert.ok(result.ok);
    assert.equal(result.value.traceId, '0000000000000000463ac35c9f6413ad');
    assert.equal(result.value.callerSpanId, '72485a3953bb6124');
  });

  it('accepts URL-encoded %3A separators in either case', () => {
    for (const value of ['463ac35c9f6413ad%3A72485a3953bb6124%3A0%3A1', '463ac35c9f6413ad%3a72485a3953bb6124%3a0%3a1']) {
      const result = parseUberTraceId(value);
      assert.ok(result.ok, value);
      assert.equal(result.value.callerSpanId, '72485a3953bb6124');
    }
  });

  it('rejects zero trace and span ids', () => {
    assert.match(rejected('0:72485a3953bb6124:0:1') ?? '', /trace id is zero/);
    assert.match(rejected(`${'0'.repeat(32)}:72485a3953bb6124:0:1`) ?? '', /trace id is zero/);
    assert.match(rejected('463ac35c9f6413ad:0:0:1') ?? '', /span id is zero/);
  });

  it('rejects over-long ids and flags', () => {
    assert.match(rejected(`${'a'.repeat(33)}:1:0:1`) ?? '', /trace id/);
    assert.match(rejected(`1:${'a'.repeat(17)}:0:1`) ?? '', /span id/);
    assert.match(rejected(`1:1:${'a'.repeat(17)}:1`) ?? '', /parent span id/);
    assert.match(rejected('1:1:0:100') ?? '', /flags/);
  });

  it('rejects the wrong number of fields, empty fields and non-hex', () => {
    for (const value of ['1:1:0', '1:1:0:1:1', '', ':1:0:1', '1::0:1', '1:1::1', '1:1:0:', 'xyz:1:0:1', '1:1:0:g', '1-1-0-1', '1%3B1%3B0%3B1']) {
      assert.notEqual(rejected(value), undefined, value);
    }
  });

  it('reports invalid and repeated headers', () => {
    const invalid: InvalidHeader[] = [];
    assert.equal(extractJaegerContext(indexHeaders([['uber-trace-id', '0:1:0:1']]), invalid), undefined);
    assert.equal(extractJaegerContext(indexHeaders([['uber-trace-id', '1:1:0:1'], ['uber-trace-id', '1:1:0:1']]), invalid), undefined);
    assert.deepEqual(invalid.map((i) => i.header), ['uber-trace-id', 'uber-trace-id']);
    assert.match(invalid[1]!.reason, /repeated/);
  });
});
