import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Http1RequestParser } from '../../../../backend-agent/src/protocols/http1/index.js';
import { StreamWriter, collectRequests, collectResponses, feed } from './helpers.js';

const GET = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n';

test('request head split across chunks at every possible point gives the same request', () => {
  const text = 'GET /api/items?sort=asc&page=2 HTTP/1.1\r\nHost: shop\r\nX-Trace:  abc \r\n\r\n';
  for (let cut = 1; cut < text.length; cut++) {
    const { parser, messages } = collectRequests();
    const w = new StreamWriter({ now: 100n });
    parser.push(w.chunk(text.slice(0, cut)));
    parser.push(w.chunk(text.slice(cut)));
    assert.equal(messages.length, 1, `cut at ${cut}`);
    const m = messages[0]!;
    assert.equal(m.method, 'GET');
    assert.equal(m.path, '/api/items');
    assert.equal(m.query, 'sort=asc&page=2');
    assert.deepEqual(m.headers, [['host', 'shop'], ['x-trace', 'abc']]);
    assert.equal(m.headerBytes, text.length);
    // The first byte is in the first call; for egress that call's entry time.
    assert.equal(m.firstByteNs, 100n);
    assert.equal(m.lastByteNs, 115n);
  }
});

test('POST with a Content-Length body split across chunks', () => {
  const { parser, messages } = collectRequests();
  const w = new StreamWriter({ now: 0n });
  parser.push(w.chunk('POST /orders HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello'));
  assert.equal(messages.length, 0, 'body incomplete');
  parser.push(w.chunk(' wor'));
  parser.push(w.chunk('ldGET /next HTTP/1.1\r\n\r\n'));
  assert.equal(messages.length, 2);
  const [post, next] = messages;
  assert.equal(post!.method, 'POST');
  assert.equal(post!.bodyBytes, 11);
  assert.equal(post!.headerBytes, 'POST /orders HTTP/1.1\r\nContent-Length: 11\r\n\r\n'.length);
  assert.equal(post!.truncated, false);
  assert.equal(post!.lastByteNs, 25n, 'last body byte is in the third call (exit 20+5)');
  assert.equal(next!.path, '/next');
  assert.equal(parser.counters.parseErrorBytes, 0);
});

test('chunked response with extensions and trailers, fed in awkward pieces', () => {
  const body = '4;name=value\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\nX-Checksum: abc\r\n\r\n';
  const text = `HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n${body}HTTP/1.1 204 No Content\r\n\r\n`;
  for (const pieces of [[], [1], [3, 7], [13]]) {
    const { parser, messages } = collectResponses(['GET', 'GET']);
    feed(parser, text, pieces);
    assert.equal(messages.length, 2, `pieces ${pieces.join(',')}`);
    const r = messages[0]!;
    assert.equal(r.chunked, true);
    assert.equal(r.bodyBytes, body.length);
    assert.deepEqual(r.trailers, [['expires', 'never'], ['x-checksum', 'abc']]);
    assert.equal(r.truncated, false);
    assert.equal(messages[1]!.statusCode, 204);
    assert.equal(parser.counters.parseErrorBytes, 0);
  }
});

test('pipelined requests in one chunk', () => {
  const { parser, messages } = collectRequests();
  feed(parser, `${GET}POST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nxyzDELETE /c HTTP/1.1\r\n\r\n`);
  assert.deepEqual(messages.map((m) => [m.method, m.path, m.bodyBytes]), [['GET', '/a', 0], ['POST', '/b', 3], ['DELETE', '/c', 0]]);
});

test('response to HEAD has Content-Length but no body', () => {
  const { parser, messages } = collectResponses(['HEAD', 'GET']);
  feed(parser, 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi');
  assert.equal(messages.length, 2);
  assert.equal(messages[0]!.bodyBytes, 0);
  assert.deepEqual(messages[0]!.headers, [['content-length', '1000']]);
  assert.equal(messages[1]!.bodyBytes, 2);
});

test('204 and 304 have no body whatever their headers say', () => {
  const { parser, messages } = collectResponses(['DELETE', 'GET', 'GET']);
  feed(
    parser,
    'HTTP/1.1 204 No Content\r\n\r\n' +
      'HTTP/1.1 304 Not Modified\r\nContent-Length: 5000\r\nETag: "x"\r\n\r\n' +
      'HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc',
  );
  assert.deepEqual(messages.map((m) => [m.statusCode, m.bodyBytes]), [[204, 0], [304, 0], [200, 3]]);
});

test('interim 1xx responses are folded into the final response', () => {
  const { parser, messages } = collectResponses(['POST']);
  const interim = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n';
  feed(parser, `${interim}HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n`);
  assert.equal(messages.length, 1);
  assert.equal(messages[0]!.statusCode, 201);
  assert.deepEqual(messages[0]!.interimStatusCodes, [100, 103]);
  assert.equal(messages[0]!.interimBytes, interim.length);
});

test('response without length is delimited by the close', () => {
  const { parser, messages } = collectResponses(['GET']);
  const w = new StreamWriter({ now: 0n });
  parser.push(w.chunk('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsome '));
  parser.push(w.chunk('text until close'));
  assert.equal(messages.length, 0, 'not over until the connection closes');
  parser.end();
  assert.equal(messages.length, 1);
  assert.equal(messages[0]!.bodyBytes, 'some text until close'.length);
  assert.equal(messages[0]!.truncated, false);
  assert.equal(messages[0]!.lastByteNs, 15n, 'last byte is the last data, not the close');
});

test('uncaptured bytes inside a Content-Length body are skipped by count; the next message still parses', () => {
  const { parser, messages } = collectResponses(['GET', 'GET']);
  const w = new StreamWriter({ now: 0n });
  const head = 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n';
  const big = Buffer.concat([Buffer.from(head), Buffer.alloc(100000, 0x61)]);
  parser.push(w.chunk(big, { capture: 4096 }));
  assert.equal(messages.length, 1, 'the call moved the whole body');
  assert.equal(messages[0]!.bodyBytes, 100000);
  assert.equal(messages[0]!.truncated, true);
  parser.push(w.chunk('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'));
  assert.equal(messages.length, 2);
  assert.equal(messages[1]!.statusCode, 404);
  assert.equal(messages[1]!.truncated, false);
  assert.equal(parser.counters.uncapturedBytes, big.length - 4096);
  assert.equal(parser.counters.parseErrorBytes, 0);
  assert.equal(parser.counters.truncatedMessages, 1);
});

test('uncaptured bytes within one chunk of a chunked body keep the decoder in sync', () => {
  const { parser, messages } = collectResponses(['GET', 'GET']);
  const w = new StreamWriter({ now: 0n });
  parser.push(w.chunk('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'));
  // One write holding a whole 0x8000-byte chunk: size line captured, most data not.
  const write = Buffer.concat([Buffer.from('8000\r\n'), Buffer.alloc(0x8000, 0x62), Buffer.from('\r\n')]);
  parser.push(w.chunk(write, { capture: 4096 }));
  parser.push(w.chunk('0\r\n\r\n'));
  assert.equal(messages.length, 1);
  assert.equal(messages[0]!.truncated, true);
  assert.equal(messages[0]!.bodyBytes, write.length + 5);
  parser.push(w.chunk('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz'));
  assert.equal(messages.length, 2);
  assert.equal(parser.counters.resyncSkippedBytes, 0);
});

test('chunked body that loses sync ends at the next start line', () => {
  const { parser, messages } = collectResponses(['GET', 'GET']);
  const w = new StreamWriter({ now: 0n });
  parser.push(w.chunk('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'));
  // Two chunks in one write: the second size line is in the uncaptured part.
  const write = Buffer.concat([Buffer.from('1000\r\n'), Buffer.alloc(0x1000, 0x63), Buffer.from('\r\n10\r\n'), Buffer.alloc(16, 0x64), Buffer.from('\r\n')]);
  parser.push(w.chunk(write, { capture: 100 }));
  parser.push(w.chunk('0\r\n\r\n'));
  assert.equal(messages.length, 1, 'a whole call ending in the last-chunk marker ends the body');
  assert.equal(messages[0]!.truncated, true);
  assert.equal(messages[0]!.bodyBytes, write.length + 5);
  parser.push(w.chunk('HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n'));
  assert.equal(messages.length, 2);
  assert.equal(messages[1]!.statusCode, 500);
});

test('chunked body without a visible end is closed by the next response head', () => {
  const { parser, messages } = collectResponses(['GET', 'GET']);
  const w = new StreamWriter({ now: 0n });
  const write = Buffer.concat([
    Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n1388\r\n'),
    Buffer.alloc(5000, 0x65),
    Buffer.from('\r\n10\r\n0123456789abcdef\r\n'),
  ]);
  parser.push(w.chunk(write, { capture: 60 }));
  parser.push(w.chunk('more body bytes 0\r\n\r\n', { capture: 5 }));
  parser.push(w.chunk('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
  assert.equal(messages.length, 2);
  assert.equal(messages[0]!.truncated, true);
  assert.equal(messages[0]!.bodyBytes, write.length - 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'.length + 'more body bytes 0\r\n\r\n'.length);
  assert.equal(messages[1]!.bodyBytes, 2);
  assert.equal(parser.counters.parseErrorBytes, 0, 'body bytes after lost sync are not parse errors');
});

test('a streamPos gap in the middle of a head discards it; the next message parses', () => {
  const lost: number[] = [];
  const messages: unknown[] = [];
  const parser = new Http1RequestParser({ direction: 'ingress', onMessage: (m) => messages.push(m), onLostSync: () => lost.push(1) });
  const w = new StreamWriter({ now: 0n });
  parser.push(w.chunk('GET /lost HTTP/1.1\r\nHost:'));
  parser.push(w.chunk(`${GET}`, { gapBefore: 500 }));
  assert.equal(messages.length, 1);
  assert.equal((messages[0] as { path: string }).path, '/a');
  assert.equal(parser.counters.gaps, 1);
  assert.equal(parser.counters.gapBytes, 500);
  assert.equal(parser.counters.discardedPartialMessages, 1);
  assert.equal(parser.counters.parseErrorBytes, 0);
  assert.equal(lost.length, 1);
});

test('a gap inside a Content-Length body keeps the message (truncated) and the framing', () => {
  const { parser, messages } = collectRequests();
  const w = new StreamWriter({ now: 0n });
  parser.push(w.chunk('PUT /f HTTP/1.1\r\nContent-Length: 1000\r\n\r\n0123456789'));
  parser.push(w.chunk('x'.repeat(90), { gapBefore: 900 }));
  parser.push(w.chunk(GET));
  assert.equal(messages.length, 2);
  assert.equal(messages[0]!.bodyBytes, 1000);
  assert.equal(messages[0]!.truncated, true);
  assert.equal(messages[1]!.path, '/a');
  assert.equal(parser.counters.gaps, 1);
  assert.equal(parser.counters.resyncSkippedBytes, 0);
});

test('a gap past the end of a body loses sync; bytes before the next start line are skipped, not errors', () => {
  const { parser, messages } = collectRequests();
  const w = new StreamWriter({ now: 0n });
  parser.push(w.chunk('POST /f HTTP/1.1\r\nContent-Length: 10\r\n\r\n01234'));
  parser.push(w.chunk('ody of a lost request}GET /after HTTP/1.1\r\n\r\n', { gapBefore: 300 }));
  assert.deepEqual(messages.map((m) => [m.path, m.bodyBytes, m.truncated]), [['/f', 10, true], ['/after', 0, false]]);
  assert.equal(parser.counters.resyncSkippedBytes, 'ody of a lost request}'.length);
  assert.equal(parser.counters.parseErrorBytes, 0);
});

test('joining mid-stream: the tail of a body is skipped as parse errors', () => {
  const { parser, messages } = collectResponses(['GET']);
  const tail = 'e": [1, 2, 3]}\n';
  parser.push({ payload: Buffer.from(`${tail}HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}`), bytes: tail.length + 40, streamPos: 123456n, tsEnterNs: 1n, tsExitNs: 2n });
  assert.equal(messages.length, 1);
  assert.equal(messages[0]!.bodyBytes, 2);
  assert.equal(parser.counters.parseErrorBytes, tail.length);
  assert.equal(parser.counters.parseErrorEvents, 1);
  assert.equal(parser.counters.gaps, 0, 'what came before the first chunk is unknown, not lost');
});

test('garbage before a valid message is counted and skipped', () => {
  const { parser, messages } = collectRequests();
  const garbage = '\x00\x01\xffnot http at all\r\n\r\nHTTP/1.1 is a response prefix, not a request\r\n';
  feed(parser, `${garbage}${GET}`);
  assert.equal(messages.length, 1);
  assert.equal(messages[0]!.path, '/a');
  assert.equal(parser.counters.parseErrorBytes, garbage.length);
  assert.equal(parser.counters.parseErrorEvents, 1);
});

test('a start line with malformed headers is rejected and skipped', () => {
  const { parser, messages } = collectRequests();
  const bad = 'GET /bad HTTP/1.1\r\nNo colon here\r\n\r\n';
  feed(parser, `${bad}${GET}`);
  assert.deepEqual(messages.map((m) => m.path), ['/a']);
  assert.equal(parser.counters.parseErrorBytes, bad.length);
});

test('a head larger than maxHeaderBytes is dropped with an error; parsing resumes after it', () => {
  const { parser, messages } = collectRequests({ maxHeaderBytes: 1024 });
  const w = new StreamWriter({ now: 0n });
  const huge = `GET /huge HTTP/1.1\r\nCookie: ${'c'.repeat(3000)}\r\n\r\n`;
  for (let at = 0; at < huge.length; at += 500) parser.push(w.chunk(huge.slice(at, at + 500)));
  parser.push(w.chunk(GET));
  assert.equal(parser.counters.headerOverflows, 1);
  assert.deepEqual(messages.map((m) => m.path), ['/a']);
  assert.equal(parser.counters.parseErrorBytes, huge.length, 'the dropped head and its remainder are errors');
});

test('a head cut by the capture limit still yields a truncated request (so it can be paired)', () => {
  const { parser, messages } = collectRequests();
  const w = new StreamWriter({ now: 0n });
  const head = `POST /upload HTTP/1.1\r\nHost: h\r\nCookie: ${'k'.repeat(8000)}\r\nContent-Length: 5\r\n\r\nhello`;
  parser.push(w.chunk(head, { capture: 4096 }));
  parser.push(w.chunk(GET));
  assert.equal(messages.length, 2);
  const cut = messages[0]!;
  assert.equal(cut.method, 'POST');
  assert.equal(cut.path, '/upload');
  assert.deepEqual(cut.headers, [['host', 'h']], 'only whole header lines are kept');
  assert.equal(cut.truncated, true);
  assert.equal(cut.headerBytes + cut.bodyBytes, head.length);
  assert.equal(messages[1]!.path, '/a');
});

test('obs-fold continuation lines, LF-only line ends, absolute-form targets', () => {
  const { parser, messages } = collectRequests();
  feed(parser, 'GET http://example.com/p/q?x=1#frag HTTP/1.1\nX-Long: first\n  second\nHost: example.com\n\n');
  assert.equal(messages.length, 1);
  const m = messages[0]!;
  assert.equal(m.path, '/p/q');
  assert.equal(m.query, 'x=1');
  assert.deepEqual(m.headers, [['x-long', 'first second'], ['host', 'example.com']]);
});

test('end() finishes a message whose body was still arriving, as truncated', () => {
  const { parser, messages } = collectRequests();
  feed(parser, 'POST /x HTTP/1.1\r\nContent-Length: 50\r\n\r\nabc');
  parser.end();
  assert.equal(messages.length, 1);
  assert.equal(messages[0]!.bodyBytes, 3);
  assert.equal(messages[0]!.truncated, true);
  parser.push({ payload: Buffer.from(GET), bytes: GET.length, streamPos: 100n, tsEnterNs: 0n, tsExitNs: 0n });
  assert.equal(messages.length, 1, 'nothing after the end');
  assert.equal(parser.counters.chunksAfterEnd, 1);
});

test('malformed chunk size ends the message as truncated and counts an error', () => {
  const { parser, messages } = collectResponses(['GET', 'GET']);
  feed(parser, 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  assert.equal(messages.length, 2);
  assert.equal(messages[0]!.truncated, true);
  assert.equal(messages[1]!.statusCode, 200);
  assert.ok(parser.counters.parseErrorEvents >= 1);
});

test('a head larger than maxHeaderBytes inside one chunk is dropped; the message after it in the same chunk parses', () => {
  const { parser, messages } = collectRequests({ maxHeaderBytes: 1024 });
  const huge = `GET /huge HTTP/1.1\r\nX-Big: ${'b'.repeat(2000)}\r\n\r\n`;
  feed(parser, `${huge}${GET}`);
  assert.equal(parser.counters.headerOverflows, 1);
  assert.deepEqual(messages.map((m) => m.path), ['/a']);
  assert.equal(parser.counters.parseErrorBytes, huge.length);
});

test('a gap past the current chunk data of a chunked body ends the message; the next one parses', () => {
  const { parser, messages } = collectResponses(['GET', 'GET']);
  const w = new StreamWriter({ now: 0n });
  parser.push(w.chunk('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123'));
  parser.push(w.chunk('HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n', { gapBefore: 200 }));
  assert.deepEqual(messages.map((m) => [m.statusCode, m.truncated, m.bodyBytes]), [
    [200, true, '10\r\n0123'.length + 14], // the rest of the 16-byte chunk data and its CRLF were accounted for
    [202, false, 0],
  ]);
  assert.equal(parser.counters.gaps, 1);
});

test('bytes after an upgrade request in the same call wait for the outcome: opaque if accepted, parsed if refused', () => {
  const upgrade = 'GET /chat HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n';
  const accepted = collectRequests();
  feed(accepted.parser, `${upgrade}\x81\x05hello`);
  accepted.parser.setUpgradeOutcome(true);
  feed(accepted.parser, ''); // nothing more
  assert.equal(accepted.messages.length, 1);
  assert.equal(accepted.parser.counters.opaqueBytes, 7);
  assert.equal(accepted.parser.counters.parseErrorBytes, 0);

  const refused = collectRequests();
  const w = new StreamWriter({ now: 0n });
  refused.parser.push(w.chunk(`${upgrade}GET /second HTTP/1.1\r\n\r\n`));
  refused.parser.push(w.chunk('GET /third HTTP/1.1\r\n\r\n'));
  assert.equal(refused.messages.length, 1, 'held until the outcome is known');
  refused.parser.setUpgradeOutcome(false);
  assert.deepEqual(refused.messages.map((m) => m.path), ['/chat', '/second', '/third']);
});

test('an upgrade outcome learned before the request body ended applies when it ends', () => {
  const { parser, messages } = collectRequests();
  const w = new StreamWriter({ now: 0n });
  parser.push(w.chunk('POST /h2c HTTP/1.1\r\nUpgrade: h2c\r\nContent-Length: 4\r\n\r\nab'));
  parser.setUpgradeOutcome(true);
  parser.push(w.chunk('cdPRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
  assert.equal(messages.length, 1);
  assert.equal(messages[0]!.bodyBytes, 4);
  assert.equal(parser.counters.opaqueBytes, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'.length);
});
