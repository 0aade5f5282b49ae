import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDuration } from '../../../backend-agent/src/api/go-duration.js';
import { parseLogfmt, parseTagParam, parseTagsParam, TagSyntaxError } from '../../../backend-agent/src/api/tags-param.js';
import { normalizeTraceId } from '../../../backend-agent/src/api/trace-id.js';
import { QueryReader } from '../../../backend-agent/src/api/query-params.js';
import { ApiError } from '../../../backend-agent/src/api/api-error.js';

describe('Go durations', () => {
  test('valid forms, in ns', () => {
    const cases: Array<[string, number]> = [
      ['0', 0],
      ['1ns', 1],
      ['250us', 250_000],
      ['250µs', 250_000],
      ['250μs', 250_000],
      ['1.2ms', 1_200_000],
      ['.5ms', 500_000],
      ['3s', 3e9],
      ['1m', 60e9],
      ['1h30m', 5400e9],
      ['2h45m30.5s', (2 * 3600 + 45 * 60 + 30.5) * 1e9],
      ['+5ms', 5e6],
      ['-5ms', -5e6],
      ['1.ms', 1e6],
    ];
    for (const [text, ns] of cases) assert.equal(parseGoDuration(text), ns, text);
  });

  test('invalid forms', () => {
    for (const text of ['', '5', 'ms', '1.2', '1 ms', '1x', '1msx', '1e3ms', '--1s', '.ms', '1ms ', 'NaN', '999999999999h']) {
      assert.equal(parseGoDuration(text), undefined, JSON.stringify(text));
    }
  });
});

describe('tag filters', () => {
  test('JSON object, with non-string scalars as text', () => {
    assert.deepEqual(parseTagsParam('{"http.response.status_code":"500","error":true,"n":3}'), {
      'http.response.status_code': '500',
      error: 'true',
      n: '3',
    });
    assert.throws(() => parseTagsParam('{"a":{"b":1}}'), TagSyntaxError);
    assert.throws(() => parseTagsParam('{"a":null}'), TagSyntaxError);
    assert.throws(() => parseTagsParam('{not json'), /not valid JSON/);
  });

  test('logfmt: bare keys, quoted values with escapes', () => {
    assert.deepEqual(parseLogfmt('error=true  http.response.status_code=500 url.path="/a b \\"q\\""  flag'), {
      error: 'true',
      'http.response.status_code': '500',
      'url.path': '/a b "q"',
      flag: 'true',
    });
    assert.deepEqual(parseLogfmt('k='), { k: '' });
    assert.deepEqual(parseTagsParam('  '), {});
    assert.throws(() => parseLogfmt('a="unterminated'), /unterminated quoted value/);
    assert.throws(() => parseLogfmt('=x'), /missing key/);
    assert.throws(() => parseLogfmt('a="x"b'), /expected a space/);
  });

  test('tag=key:value keeps colons in the value', () => {
    assert.deepEqual(parseTagParam('url.full:http://x:1/'), ['url.full', 'http://x:1/']);
    assert.throws(() => parseTagParam('novalue'), /expecting key:value/);
  });
});

describe('trace ids', () => {
  test('1 to 32 hex digits, normalised to 32 lowercase', () => {
    assert.equal(normalizeTraceId('ABC'), '00000000000000000000000000000abc');
    assert.equal(normalizeTraceId('4bf92f3577b34da6a3ce929d0e0e4736'), '4bf92f3577b34da6a3ce929d0e0e4736');
    for (const bad of ['', 'xyz', '0'.repeat(33), "' OR 1=1 --", '12 34']) assert.equal(normalizeTraceId(bad), undefined, bad);
  });
});

describe('QueryReader', () => {
  test('collects every problem into one 400', () => {
    const q = new QueryReader(new URLSearchParams('limit=-1&minDuration=fast&start=yesterday'));
    q.integer('limit', 0, 10);
    q.duration('minDuration');
    q.timestamp('start');
    q.require('service', q.text('service'));
    assert.throws(
      () => q.done(),
      (err: unknown) => err instanceof ApiError && err.status === 400 && err.messages.length === 4,
    );
  });

  test('first value of a repeated parameter; empty means absent', () => {
    const q = new QueryReader(new URLSearchParams('service=a&service=b&operation='));
    assert.equal(q.text('service'), 'a');
    assert.equal(q.text('operation'), undefined);
    q.done();
  });
});
