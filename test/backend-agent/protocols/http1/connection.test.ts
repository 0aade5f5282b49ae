import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionHarness } from './helpers.js';

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: svc\r\n\r\n`;
const OK = (body: string): string => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

test('simple GET/200 on a client connection: times, sizes, index', () => {
  const h = new ConnectionHarness('client');
  const req = h.request(GET('/users/7?full=1'));
  const res = h.response(OK('{"id":7}'));
  assert.equal(h.exchanges.length, 1);
  const ex = h.exchanges[0]!;
  assert.equal(ex.index, 0);
  assert.equal(ex.request.method, 'GET');
  assert.equal(ex.request.path, '/users/7');
  assert.equal(ex.request.query, 'full=1');
  assert.equal(ex.response?.statusCode, 200);
  assert.equal(ex.response?.reason, 'OK');
  // Client: requests are egress (first byte = call entry), responses ingress (call exit).
  assert.equal(ex.requestStartNs, req.tsEnterNs);
  assert.equal(ex.requestEndNs, req.tsExitNs);
  assert.equal(ex.responseStartNs, res.tsExitNs);
  assert.equal(ex.responseEndNs, res.tsExitNs);
  assert.equal(ex.requestBytes, req.bytes);
  assert.equal(ex.responseBytes, res.bytes);
  assert.equal(ex.truncated, false);
  assert.equal(ex.missingResponseReason, undefined);
});

test('server role: requests are ingress, responses egress', () => {
  const h = new ConnectionHarness('server');
  const req = h.request(GET('/'));
  const res = h.response(OK('hi'));
  assert.equal(h.exchanges.length, 1);
  assert.equal(h.exchanges[0]!.requestStartNs, req.tsExitNs, 'received when the read returned');
  assert.equal(h.exchanges[0]!.responseStartNs, res.tsEnterNs, 'sending began when the write was entered');
  assert.equal(h.exchanges[0]!.responseEndNs, res.tsExitNs);
});

test('keep-alive: exchanges are numbered 0..n on the connection', () => {
  const h = new ConnectionHarness('client');
  for (let k = 0; k < 5; k++) {
    h.request(GET(`/item/${k}`));
    h.response(OK(`body${k}`));
  }
  assert.deepEqual(h.exchanges.map((e) => [e.index, e.request.path, e.response?.bodyBytes]), [
    [0, '/item/0', 5],
    [1, '/item/1', 5],
    [2, '/item/2', 5],
    [3, '/item/3', 5],
    [4, '/item/4', 5],
  ]);
});

test('pipelining: requests in one chunk, responses in one chunk, paired in order', () => {
  const h = new ConnectionHarness('client');
  h.request(`${GET('/a')}HEAD /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 2\r\n\r\nhi`);
  h.response(`${OK('A')}HTTP/1.1 200 OK\r\nContent-Length: 999\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nC`);
  assert.deepEqual(h.exchanges.map((e) => [e.index, e.request.method, e.request.path, e.response?.statusCode, e.response?.bodyBytes]), [
    [0, 'GET', '/a', 200, 1],
    [1, 'HEAD', '/b', 200, 0],
    [2, 'POST', '/c', 201, 1],
  ]);
});

test('Expect: 100-continue, then the body, then 200: one exchange with the interim recorded', () => {
  const h = new ConnectionHarness('client');
  h.request('PUT /blob HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n');
  const interim = h.response('HTTP/1.1 100 Continue\r\n\r\n');
  assert.equal(h.exchanges.length, 0, 'the interim response is not an exchange');
  h.request('data');
  const final = h.response(OK(''));
  assert.equal(h.exchanges.length, 1);
  const ex = h.exchanges[0]!;
  assert.equal(ex.request.bodyBytes, 4);
  assert.equal(ex.response?.statusCode, 200);
  assert.deepEqual(ex.response?.interimStatusCodes, [100]);
  assert.equal(ex.responseBytes, interim.bytes + final.bytes);
  assert.equal(ex.responseStartNs, final.tsExitNs, 'the final response starts the response');
});

test('a response to HEAD and a 304 carry no body on a reused connection', () => {
  const h = new ConnectionHarness('client');
  h.request('HEAD /big HTTP/1.1\r\n\r\n');
  h.response('HTTP/1.1 200 OK\r\nContent-Length: 123456\r\n\r\n');
  h.request('GET /big HTTP/1.1\r\nIf-None-Match: "v1"\r\n\r\n');
  h.response('HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\n\r\n');
  h.request(GET('/x'));
  h.response(OK('x'));
  assert.deepEqual(h.exchanges.map((e) => [e.request.method, e.response?.statusCode, e.response?.bodyBytes]), [
    ['HEAD', 200, 0],
    ['GET', 304, 0],
    ['GET', 200, 1],
  ]);
});

test('response delimited by close: the exchange is emitted at close', () => {
  const h = new ConnectionHarness('client');
  h.request('GET /stream HTTP/1.0\r\n\r\n');
  h.response('HTTP/1.0 200 OK\r\n\r\npart one, ');
  h.response('part two');
  assert.equal(h.exchanges.length, 0);
  h.close();
  assert.equal(h.exchanges.length, 1);
  assert.equal(h.exchanges[0]!.response?.bodyBytes, 'part one, part two'.length);
  assert.equal(h.exchanges[0]!.truncated, false);
});

test('a request still waiting at close is reported without response', () => {
  const h = new ConnectionHarness('client');
  h.request(GET('/a'));
  h.response(OK('a'));
  h.request(GET('/b'));
  h.close();
  assert.equal(h.exchanges.length, 2);
  assert.equal(h.exchanges[1]!.response, undefined);
  assert.equal(h.exchanges[1]!.missingResponseReason, 'closed');
  assert.equal(h.connection.counters().exchangesWithoutResponse, 1);
});

test('flush: a request older than maxAge is reported without response; its late response is not misattributed', () => {
  const h = new ConnectionHarness('client');
  const req = h.request(GET('/slow'));
  h.connection.flush(req.tsExitNs + 50n, 100n);
  assert.equal(h.exchanges.length, 0, 'not old enough yet');
  h.connection.flush(req.tsExitNs + 100n, 100n);
  assert.equal(h.exchanges.length, 1);
  assert.equal(h.exchanges[0]!.missingResponseReason, 'timeout');
  h.response(OK('late'));
  h.request(GET('/next'));
  h.response(OK('n'));
  assert.equal(h.exchanges.length, 2);
  assert.equal(h.exchanges[1]!.request.path, '/next');
  assert.equal(h.exchanges[1]!.response?.bodyBytes, 1);
  assert.equal(h.connection.counters().lateResponses, 1);
});

test('truncated payload inside a large response body, then a well-formed exchange', () => {
  const h = new ConnectionHarness('client');
  h.request(GET('/download'));
  const big = Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 1048576\r\n\r\n'), Buffer.alloc(1048576, 0x7a)]);
  h.response(big, { capture: 4096 });
  h.request(GET('/after'));
  h.response(OK('ok'));
  assert.equal(h.exchanges.length, 2);
  assert.equal(h.exchanges[0]!.truncated, true);
  assert.equal(h.exchanges[0]!.responseBytes, big.length);
  assert.equal(h.exchanges[1]!.request.path, '/after');
  assert.equal(h.exchanges[1]!.response?.bodyBytes, 2);
  assert.equal(h.exchanges[1]!.truncated, false);
});

test('a gap that swallows a whole response: that request is reported lost, the next pairs correctly', () => {
  const h = new ConnectionHarness('client');
  h.request(GET('/0'));
  h.response(OK('0'));
  h.request(GET('/a'));
  const lostResponse = OK('aaaa');
  h.request(GET('/b'));
  // The response to /a was never captured; the stream position shows it.
  h.response(OK('bb'), { gapBefore: lostResponse.length });
  assert.deepEqual(h.exchanges.map((e) => [e.index, e.request.path, e.response?.bodyBytes, e.missingResponseReason]), [
    [0, '/0', 1, undefined],
    [1, '/a', undefined, 'lost'],
    [2, '/b', 2, undefined],
  ]);
  assert.equal(h.connection.counters().gaps, 1);
});

test('a gap in the request stream: the response to the unseen request is an orphan, later pairs are right', () => {
  const h = new ConnectionHarness('server');
  h.request(GET('/seen-1'));
  h.response(OK('1'));
  // The client sent GET /lost (not captured) and the server answered it.
  const lostRequest = GET('/lost');
  h.response(OK('L'));
  h.request(GET('/seen-2'), { gapBefore: lostRequest.length });
  h.response(OK('22'));
  assert.deepEqual(h.exchanges.map((e) => [e.index, e.request.path, e.response?.bodyBytes]), [
    [0, '/seen-1', 1],
    [1, '/seen-2', 2],
  ]);
  assert.equal(h.connection.counters().orphanResponses, 1);
  assert.equal(h.connection.counters().gaps, 1);
});

test('a response that began before any request we saw is an orphan', () => {
  const h = new ConnectionHarness('client');
  h.response(OK('from before we joined'));
  h.request(GET('/a'));
  h.response(OK('a'));
  assert.equal(h.exchanges.length, 1);
  assert.equal(h.exchanges[0]!.response?.bodyBytes, 1);
  assert.equal(h.connection.counters().orphanResponses, 1);
});

test('mid-stream join on both directions, then a clean exchange', () => {
  const h = new ConnectionHarness('client');
  h.connection.onData({ direction: 'egress', payload: Buffer.from('tail of a request body'), bytes: 22, streamPos: 9000n, tsEnterNs: 1n, tsExitNs: 2n });
  h.connection.onData({ direction: 'ingress', payload: Buffer.from('tail of a response body'), bytes: 23, streamPos: 7000n, tsEnterNs: 3n, tsExitNs: 4n });
  h.connection.onData({ direction: 'egress', payload: Buffer.from(GET('/x')), bytes: GET('/x').length, streamPos: 9022n, tsEnterNs: 5n, tsExitNs: 6n });
  h.connection.onData({ direction: 'ingress', payload: Buffer.from(OK('x')), bytes: OK('x').length, streamPos: 7023n, tsEnterNs: 7n, tsExitNs: 8n });
  assert.equal(h.exchanges.length, 1);
  assert.equal(h.exchanges[0]!.request.path, '/x');
  assert.equal(h.exchanges[0]!.response?.bodyBytes, 1);
  const c = h.connection.counters();
  assert.equal(c.parseErrorBytes, 45);
  assert.equal(c.parseErrorEvents, 2);
});

test('unknown role: a request seen on egress makes this the client', () => {
  const h = new ConnectionHarness('unknown');
  assert.equal(h.connection.role, 'unknown');
  h.data('egress', GET('/a'));
  h.data('ingress', OK('a'));
  assert.equal(h.connection.role, 'client');
  assert.equal(h.exchanges.length, 1);
  assert.equal(h.exchanges[0]!.request.path, '/a');
});

test('unknown role: a response seen first on egress makes this the server; earlier undecided bytes are replayed', () => {
  const h = new ConnectionHarness('unknown');
  // Joined mid-stream: the first ingress bytes are the tail of something, then the request follows.
  h.data('ingress', 'junk before');
  h.data('ingress', 'POST /p HTTP/1.1\r\nContent-Length: 1\r\n\r\n!');
  h.data('egress', OK('done'));
  assert.equal(h.connection.role, 'server');
  assert.equal(h.exchanges.length, 1);
  assert.equal(h.exchanges[0]!.request.method, 'POST');
  assert.equal(h.connection.counters().parseErrorBytes, 'junk before'.length);
});

test('101 Switching Protocols: the rest of both directions is not parsed as HTTP', () => {
  const h = new ConnectionHarness('client');
  h.request('GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  h.response('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n');
  h.request(Buffer.from([0x81, 0x85, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  h.response('GET / HTTP/1.1\r\n\r\n'); // text inside websocket frames, not HTTP
  h.close();
  assert.equal(h.exchanges.length, 1);
  assert.equal(h.exchanges[0]!.response?.statusCode, 101);
  const c = h.connection.counters();
  assert.equal(c.parseErrorBytes, 0);
  assert.equal(c.requests.opaqueBytes, 11);
  assert.equal(c.responses.opaqueBytes, 18);
});

test('refused upgrade (h2c ignored): parsing goes on, including bytes sent before the answer', () => {
  const h = new ConnectionHarness('client');
  h.request('GET /a HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n');
  h.request(GET('/pipelined')); // held until the response says whether HTTP/1 goes on
  h.response(OK('a'));
  h.response(OK('p'));
  assert.deepEqual(h.exchanges.map((e) => [e.request.path, e.response?.bodyBytes]), [['/a', 1], ['/pipelined', 1]]);
});

test('CONNECT 200 opens a tunnel; a failed CONNECT does not', () => {
  const h = new ConnectionHarness('client');
  h.request('CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n');
  h.response('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n');
  h.request('CONNECT db:5432 HTTP/1.1\r\nProxy-Authorization: Basic eA==\r\n\r\n');
  h.response('HTTP/1.1 200 Connection established\r\nContent-Length: 10\r\n\r\n');
  h.request(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05]));
  h.response(Buffer.from([0x16, 0x03, 0x03, 0x00, 0x02, 0x02, 0x00]));
  h.close();
  assert.deepEqual(h.exchanges.map((e) => [e.request.method, e.request.path, e.response?.statusCode, e.response?.bodyBytes]), [
    ['CONNECT', 'db:5432', 407, 0],
    ['CONNECT', 'db:5432', 200, 0],
  ]);
  assert.equal(h.connection.counters().parseErrorBytes, 0);
  assert.equal(h.connection.counters().responses.opaqueBytes, 7);
});

test('a request head cut by the capture limit is still paired with its response', () => {
  const h = new ConnectionHarness('client');
  h.request(`GET /report HTTP/1.1\r\nCookie: ${'x'.repeat(6000)}\r\n\r\n`, { capture: 4096 });
  h.response(OK('r'));
  assert.equal(h.exchanges.length, 0, 'the request ends only when the next one begins (or at close)');
  h.request(GET('/next'));
  assert.equal(h.exchanges.length, 1);
  assert.equal(h.exchanges[0]!.request.path, '/report');
  assert.equal(h.exchanges[0]!.truncated, true);
  assert.equal(h.exchanges[0]!.response?.statusCode, 200);
});
