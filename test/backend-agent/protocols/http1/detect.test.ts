import { test } from 'node:test';
import assert from 'node:assert/strict';
import { looksLikeHttp1 } from '../../../../backend-agent/src/protocols/http1/index.js';
import { findStartLine } from '../../../../backend-agent/src/protocols/http1/start-line.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

test('looksLikeHttp1: requests, including short first reads and absolute/authority forms', () => {
  assert.equal(looksLikeHttp1(b('GET / HTTP/1.1\r\nHost: a\r\n\r\n')), 'request');
  assert.equal(looksLikeHttp1(b('POST /api/orders?id=3 HTTP/1.0\r\n')), 'request');
  assert.equal(looksLikeHttp1(b('CONNECT example.com:443 HTTP/1.1\r\n\r\n')), 'request');
  assert.equal(looksLikeHttp1(b('GET http://example.com/x HTTP/1.1\r\n')), 'request');
  assert.equal(looksLikeHttp1(b('M-SEARCH * HTTP/1.1\r\n')), 'request');
  // A first read can end inside the request line.
  assert.equal(looksLikeHttp1(b('GET /very/long/pa')), 'request');
});

test('looksLikeHttp1: responses', () => {
  assert.equal(looksLikeHttp1(b('HTTP/1.1 200 OK\r\n\r\n')), 'response');
  assert.equal(looksLikeHttp1(b('HTTP/1.0 404\r\n')), 'response');
  assert.equal(looksLikeHttp1(b('HTTP/1.1 204')), 'response');
});

test('looksLikeHttp1: rejects other protocols and near misses', () => {
  assert.equal(looksLikeHttp1(b('')), undefined);
  assert.equal(looksLikeHttp1(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])), undefined, 'TLS ClientHello');
  assert.equal(looksLikeHttp1(b('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')), undefined, 'HTTP/2 preface');
  assert.equal(looksLikeHttp1(b('HTTP/2 200\r\n')), undefined);
  assert.equal(looksLikeHttp1(b('get / HTTP/1.1\r\n')), undefined, 'methods are case-sensitive');
  assert.equal(looksLikeHttp1(b('FETCH / HTTP/1.1\r\n')), undefined, 'unknown method');
  assert.equal(looksLikeHttp1(b('GET / HTTP/1.1 extra\r\n')), undefined);
  assert.equal(looksLikeHttp1(b('GET /a b HTTP/1.1\r\n')), undefined, 'space inside the target');
  assert.equal(looksLikeHttp1(b('*1\r\n$4\r\nPING\r\n')), undefined, 'Redis');
  assert.equal(looksLikeHttp1(b('HTTP/1.1 2x0 OK\r\n')), undefined);
});

test('findStartLine: finds a request line glued to garbage, with the longest known method', () => {
  const buf = b('}{"a":1}XUNLOCK /f HTTP/1.1\r\nHost: x\r\n\r\n');
  assert.deepEqual(findStartLine('request', buf, 0, 8192), { index: 9, complete: true });
  const buf2 = b('abcGET /x HTTP/1.1\r\n');
  assert.deepEqual(findStartLine('request', buf2, 0, 8192), { index: 3, complete: true });
});

test('findStartLine: a possible start line cut by the end of the bytes is reported as incomplete', () => {
  assert.deepEqual(findStartLine('request', b('garbage\r\nGET /abc HT'), 0, 8192), { index: 9, complete: false });
  assert.deepEqual(findStartLine('request', b('xxPO'), 0, 8192), { index: 2, complete: false });
  assert.deepEqual(findStartLine('response', b('zzzHTTP/1.1 20'), 0, 8192), { index: 3, complete: false });
  // Committing to a status line needs the byte after the code.
  assert.deepEqual(findStartLine('response', b('HTTP/1.1 200'), 0, 8192), { index: 0, complete: false });
  assert.deepEqual(findStartLine('response', b('HTTP/1.1 200 '), 0, 8192), { index: 0, complete: true });
});

test('findStartLine: nothing plausible means nothing to keep', () => {
  assert.equal(findStartLine('request', b('hello world\r\nthis is not http'), 0, 8192), undefined);
  assert.equal(findStartLine('response', b('GET / HTTP/1.1\r\n'), 0, 8192), undefined);
  // "HTTP/1.1" inside a body line that is not a request line.
  assert.equal(findStartLine('request', b('see HTTP/1.1 spec\r\n'), 0, 8192), undefined);
  // Request lines longer than the limit are not recognised.
  assert.equal(findStartLine('request', b(`GET /${'a'.repeat(100)} HTTP/1.1\r\n`), 0, 50), undefined);
});
