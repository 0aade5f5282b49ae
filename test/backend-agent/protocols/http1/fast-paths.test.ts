/**
 * The HTTP/1 parser's shortcuts against the slower ways they replace: the
 * start line checked at the scan position before searching, the target
 * split without an object, and the head parsed from one decoded string with
 * shared header names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findStartLine, searchStartLine } from '../../../../backend-agent/src/protocols/http1/start-line.js';
import { splitTarget, targetPath, targetQuery } from '../../../../backend-agent/src/protocols/http1/target.js';
import { parseHead } from '../../../../backend-agent/src/protocols/http1/head.js';
import { seededRandom } from '../../fixtures/seeded-random.js';

const random = seededRandom(1101);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

/** Bytes that are often start lines, parts of them, or near misses. */
function startLineSoup(): Buffer {
  const pieces = [
    'GET /a HTTP/1.1\r\n', 'POST /x?y=1 HTTP/1.0\n', 'UNLINK /u HTTP/1.1\r\n', 'XGET / HTTP/1.1\r\n', 'GET  / HTTP/1.1\r\n',
    'GET /HTTP/1.1 HTTP/1.1\r\n', 'get / HTTP/1.1\r\n', 'M-SEARCH * HTTP/1.1\r\n', 'GET / HTTP/1.', 'GET / HTTP/2.0\r\n',
    'HTTP/1.1 200 OK\r\n', 'HTTP/1.0 404\r\n', 'HTTP/1.1 20', 'HTTP/1.1 2000\r\n', 'HTTP/1.1 200\n', 'HTTP/1.x 200 OK\r\n',
    'Host: a\r\n', '\r\n', ' ', 'x', '{"a":1}', 'GET', ' /', ' HTTP/1.1', '\r', '\n', 'é',
  ];
  let s = '';
  const n = 1 + Math.floor(random() * 5);
  for (let i = 0; i < n; i++) s += pick(pieces);
  return Buffer.from(s, 'latin1');
}

test('findStartLine agrees with the plain search at every offset', () => {
  for (let n = 0; n < 3000; n++) {
    const buf = startLineSoup();
    const maxLine = pick([8, 16, 24, 8192]);
    for (const kind of ['request', 'response'] as const) {
      for (let from = 0; from <= buf.length; from++) {
        assert.deepEqual(findStartLine(kind, buf, from, maxLine), searchStartLine(kind, buf, from, maxLine), `${kind} ${JSON.stringify(buf.toString('latin1'))} from ${from} max ${maxLine}`);
      }
    }
  }
});

/** splitTarget as it was before targetPath/targetQuery (RFC 9112 section 3.2 forms). */
function referenceSplit(target: string): { path: string; query: string } {
  const withoutFragment = (s: string): string => (s.indexOf('#') < 0 ? s : s.slice(0, s.indexOf('#')));
  let pathStart = 0;
  if (!target.startsWith('/')) {
    const scheme = target.indexOf('://');
    if (scheme < 0) return { path: target, query: '' };
    const slash = target.indexOf('/', scheme + 3);
    const question = target.indexOf('?', scheme + 3);
    if (slash < 0 || (question >= 0 && question < slash)) {
      return { path: '/', query: question >= 0 ? withoutFragment(target.slice(question + 1)) : '' };
    }
    pathStart = slash;
  }
  const question = target.indexOf('?', pathStart);
  if (question < 0) return { path: withoutFragment(target.slice(pathStart)), query: '' };
  return { path: target.slice(pathStart, question), query: withoutFragment(target.slice(question + 1)) };
}

test('targetPath and targetQuery split every target form as before', () => {
  const pieces = ['/', 'a', '?', '#', '://', 'http', 'h:1', '=', '&', '*', ':443', '%3F'];
  const targets = ['*', 'host:443', '/', '/a?b', '/a#f?b', '/a?b#f', 'http://h', 'http://h?q=1', 'http://h/p?q#f', 'http://h?q/p', 'x://', ''];
  for (let n = 0; n < 5000; n++) {
    let t = '';
    const k = Math.floor(random() * 7);
    for (let i = 0; i < k; i++) t += pick(pieces);
    targets.push(t);
  }
  for (const t of targets) {
    const expected = referenceSplit(t);
    assert.deepEqual({ path: targetPath(t), query: targetQuery(t) }, expected, JSON.stringify(t));
    assert.deepEqual(splitTarget(t), expected);
  }
});

test('header names are lowercased the same past the bound on shared names', () => {
  // More distinct names than are ever shared: the later ones are lowercased afresh.
  const lines = Array.from({ length: 1500 }, (_, i) => `X-Custom-${i}-Name: v${i}`);
  const text = `HTTP/1.1 200 OK\r\n${lines.join('\r\n')}\r\nContent-Length: 0\r\n\r\n`;
  const buf = Buffer.from(text, 'latin1');
  for (let round = 0; round < 2; round++) {
    const head = parseHead('response', buf, 0, buf.length, false);
    assert.ok(head && head.kind === 'response');
    assert.equal(head.headers.length, 1501);
    head.headers.slice(0, 1500).forEach(([name, value], i) => {
      assert.equal(name, `x-custom-${i}-name`);
      assert.equal(value, `v${i}`);
    });
    assert.equal(head.contentLength, 0);
  }
});

test('a head inside a larger buffer parses from its own bytes only, latin1 values kept', () => {
  const before = Buffer.from('garbage HTTP/1.1\r\n', 'latin1');
  const head = Buffer.from('PUT /ü?x=é HTTP/1.1\r\nHOST: a\r\nX-Fold: one\r\n  two\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n', 'latin1');
  const buf = Buffer.concat([before, head, Buffer.from('body: not a header\r\n\r\n')]);
  const parsed = parseHead('request', buf, before.length, before.length + head.length, false);
  assert.ok(parsed && parsed.kind === 'request');
  assert.equal(parsed.method, 'PUT');
  assert.equal(parsed.target, '/ü?x=é');
  assert.equal(parsed.version, '1.1');
  assert.deepEqual(parsed.headers, [['host', 'a'], ['x-fold', 'one two'], ['transfer-encoding', 'gzip, Chunked']]);
  assert.equal(parsed.transferEncoding, 'chunked');
  // Lenient: a head cut inside a header line keeps the whole lines.
  const cut = parseHead('request', buf, before.length, before.length + 33, true);
  assert.ok(cut && cut.kind === 'request');
  assert.deepEqual(cut.headers, [['host', 'a']]);
  assert.equal(parseHead('request', buf, before.length, before.length + 33, false), undefined);
});
