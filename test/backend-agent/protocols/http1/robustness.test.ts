import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Direction, Role } from '../../../../backend-agent/src/model/events.js';
import {
  Http1Connection,
  type Http1Chunk,
  type Http1Exchange,
  type Http1Message,
  type Http1ParserCounters,
} from '../../../../backend-agent/src/protocols/http1/index.js';
import { collectRequests, collectResponses, feed, randomInt, seededRandom, withoutTimes } from './helpers.js';

/** A request stream exercising most paths: garbage, pipelining, bodies, trailers, a bad head. */
const REQUEST_STREAM =
  '\x00junk\r\n' +
  'GET /a?q=1 HTTP/1.1\r\nHost: x\r\nX-Fold: a\r\n b\r\n\r\n' +
  'POST /b HTTP/1.1\r\nContent-Length: 12\r\n\r\nhello world!' +
  'PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r\n3;x=y\r\nfgh\r\n0\r\nX-Sum: 9\r\n\r\n' +
  'GET /bad HTTP/1.1\r\nbroken header line\r\n\r\n' +
  'more junk PO' +
  'OPTIONS * HTTP/1.1\r\n\r\n' +
  '}{XGET /glued HTTP/1.0\n\n' +
  'DELETE /d HTTP/1.1\r\nContent-Length: 0\r\n\r\n';

const RESPONSE_METHODS = ['GET', 'HEAD', 'POST', 'GET', 'GET', 'GET'];
const RESPONSE_STREAM =
  'tail of something\r\n' +
  'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello' +
  'HTTP/1.1 200 OK\r\nContent-Length: 77\r\n\r\n' + // HEAD: no body
  'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\nT: 1\r\n\r\n' +
  'xxHTTP/1.1 204 No Content\r\n\r\n' +
  'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n' +
  'HTTP/1.0 200 OK\r\n\r\nbody until close';

test('byte-at-a-time feeding finds the same requests and counts as whole-chunk feeding', () => {
  const whole = collectRequests();
  feed(whole.parser, REQUEST_STREAM);
  assert.deepEqual(
    whole.messages.map((m) => [m.method, m.target, m.bodyBytes]),
    [
      ['GET', '/a?q=1', 0],
      ['POST', '/b', 12],
      ['PUT', '/c', '5\r\nabcde\r\n3;x=y\r\nfgh\r\n0\r\nX-Sum: 9\r\n\r\n'.length],
      ['OPTIONS', '*', 0],
      ['GET', '/glued', 0],
      ['DELETE', '/d', 0],
    ],
  );
  assert.deepEqual(whole.messages[2]!.trailers, [['x-sum', '9']]);
  const bytewise = collectRequests();
  feed(bytewise.parser, REQUEST_STREAM, [1]);
  assert.deepEqual(withoutTimes(bytewise.messages), withoutTimes(whole.messages));
  assert.deepEqual(bytewise.parser.counters, whole.parser.counters);
  assert.ok(whole.parser.counters.parseErrorBytes > 0);
});

test('byte-at-a-time feeding finds the same responses and counts as whole-chunk feeding', () => {
  const whole = collectResponses(RESPONSE_METHODS);
  feed(whole.parser, RESPONSE_STREAM);
  whole.parser.end();
  assert.deepEqual(
    whole.messages.map((m) => [m.statusCode, m.bodyBytes, m.interimStatusCodes]),
    [
      [200, 5, []],
      [200, 0, []],
      [201, 'a\r\n0123456789\r\n0\r\nT: 1\r\n\r\n'.length, [100]],
      [204, 0, []],
      [304, 0, []],
      [200, 'body until close'.length, []],
    ],
  );
  const bytewise = collectResponses(RESPONSE_METHODS);
  feed(bytewise.parser, RESPONSE_STREAM, [1]);
  bytewise.parser.end();
  assert.deepEqual(withoutTimes(bytewise.messages), withoutTimes(whole.messages));
  assert.deepEqual(bytewise.parser.counters, whole.parser.counters);
});

test('random chunkings of the same streams agree with whole-chunk feeding', () => {
  const random = seededRandom(42);
  const reqWhole = collectRequests();
  feed(reqWhole.parser, REQUEST_STREAM);
  const resWhole = collectResponses(RESPONSE_METHODS);
  feed(resWhole.parser, RESPONSE_STREAM);
  resWhole.parser.end();
  for (let iter = 0; iter < 300; iter++) {
    const sizes = Array.from({ length: 8 }, () => randomInt(random, 1, 40));
    const req = collectRequests();
    feed(req.parser, REQUEST_STREAM, sizes);
    assert.deepEqual(withoutTimes(req.messages), withoutTimes(reqWhole.messages), `sizes ${sizes.join(',')}`);
    assert.deepEqual(req.parser.counters, reqWhole.parser.counters);
    const res = collectResponses(RESPONSE_METHODS);
    feed(res.parser, RESPONSE_STREAM, sizes);
    res.parser.end();
    assert.deepEqual(withoutTimes(res.messages), withoutTimes(resWhole.messages), `sizes ${sizes.join(',')}`);
    assert.deepEqual(res.parser.counters, resWhole.parser.counters);
  }
});

test('byte-at-a-time feeding of a connection gives the same exchanges', () => {
  const run = (pieces: number): Http1Exchange[] => {
    const out: Http1Exchange[] = [];
    const conn = new Http1Connection({ role: 'client', onExchange: (e) => out.push(e) });
    const pos: Record<Direction, bigint> = { egress: 0n, ingress: 0n };
    const send = (direction: Direction, s: string): void => {
      const b = Buffer.from(s, 'latin1');
      for (let at = 0; at < b.length; at += pieces) {
        const payload = b.subarray(at, at + pieces);
        conn.onData({ direction, payload, bytes: payload.length, streamPos: pos[direction], tsEnterNs: 1n, tsExitNs: 1n });
        pos[direction] += BigInt(payload.length);
      }
    };
    send('egress', 'GET /1 HTTP/1.1\r\n\r\nPOST /2 HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n');
    send('ingress', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 100 Continue\r\n\r\n');
    send('egress', 'abc');
    send('ingress', 'HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n');
    conn.onClose(2n);
    return out;
  };
  const whole = run(1 << 20);
  assert.equal(whole.length, 2);
  assert.deepEqual(run(1), whole);
  assert.deepEqual(run(7), whole);
});

/** Random bytes: uniformly random, or HTTP-looking fragments that make near-misses likely. */
function garbage(random: () => number, maxLength: number): Buffer {
  if (random() < 0.5) {
    const b = Buffer.alloc(randomInt(random, 0, maxLength));
    for (let k = 0; k < b.length; k++) b[k] = randomInt(random, 0, 255);
    return b;
  }
  const fragments = ['GET', 'POST', ' ', '/', 'HTTP/1.1', 'HTTP/1.0 200', '\r\n', '\n', ':', 'Content-Length: 3', 'Transfer-Encoding: chunked', '0\r\n\r\n', 'a', 'ffff\r\n', '100-continue', 'HEAD'];
  const parts: string[] = [];
  const n = randomInt(random, 0, 20);
  for (let k = 0; k < n; k++) parts.push(fragments[randomInt(random, 0, fragments.length - 1)] as string);
  return Buffer.from(parts.join(''), 'latin1');
}

test('fuzz: random garbage, then a valid message, in random chunks: never throws, the message is found', () => {
  const random = seededRandom(0x5eed);
  const valid = 'GET /after-garbage HTTP/1.1\r\nHost: h\r\n\r\n';
  for (let iter = 0; iter < 2000; iter++) {
    const junk = Buffer.alloc(randomInt(random, 0, 600));
    for (let k = 0; k < junk.length; k++) junk[k] = randomInt(random, 0, 255);
    const { parser, messages } = collectRequests();
    const sizes = Array.from({ length: 4 }, () => randomInt(random, 1, 97));
    feed(parser, Buffer.concat([junk, Buffer.from(valid)]), sizes);
    const c = parser.counters;
    assert.equal(c.internalErrors, 0);
    assert.ok(c.parseErrorBytes <= junk.length, `iteration ${iter}`);
    assert.equal(messages[messages.length - 1]?.path, '/after-garbage', `iteration ${iter}`);
    // Whatever the junk held before the message was skipped or parsed, never both.
    const parsed = messages.slice(0, -1).reduce((n, m) => n + m.headerBytes + m.bodyBytes, 0);
    assert.equal(c.parseErrorBytes + parsed, junk.length, `iteration ${iter}`);
  }
});

test('fuzz: connections fed random mixes of garbage, valid and broken messages, truncation, gaps and regressions', () => {
  const random = seededRandom(0xc0ffee);
  const valid = {
    request: ['GET / HTTP/1.1\r\n\r\n', 'POST /p HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody', 'PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n', 'HEAD /h HTTP/1.1\r\n\r\n', 'GET /u HTTP/1.1\r\nUpgrade: websocket\r\n\r\n'],
    response: ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 204 No Content\r\n\r\n', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n', 'HTTP/1.1 101 Switching Protocols\r\n\r\n', 'HTTP/1.0 200 OK\r\n\r\nuntil close'],
  };
  const roles: Role[] = ['client', 'server', 'unknown'];
  for (let iter = 0; iter < 3000; iter++) {
    const exchanges: Http1Exchange[] = [];
    const conn = new Http1Connection({ role: roles[iter % 3] as Role, onExchange: (e) => exchanges.push(e), maxHeaderBytes: 512 });
    const pos: Record<Direction, bigint> = { egress: 0n, ingress: 0n };
    let captured = 0;
    let clock = 0n;
    const steps = randomInt(random, 1, 14);
    for (let s = 0; s < steps; s++) {
      const direction: Direction = random() < 0.5 ? 'egress' : 'ingress';
      const pick = random();
      let data: Buffer;
      if (pick < 0.3) data = garbage(random, 300);
      else {
        const list = random() < 0.5 ? valid.request : valid.response;
        data = Buffer.from(list[randomInt(random, 0, list.length - 1)] as string, 'latin1');
        if (pick < 0.45 && data.length > 0) data[randomInt(random, 0, data.length - 1)] = randomInt(random, 0, 255); // one corrupted byte
      }
      const capture = random() < 0.2 ? randomInt(random, 0, data.length) : data.length;
      if (random() < 0.1) pos[direction] += BigInt(randomInt(random, 1, 400));
      if (random() < 0.05 && pos[direction] > 0n) pos[direction] -= BigInt(randomInt(random, 1, Number(pos[direction] > 50n ? 50n : pos[direction])));
      clock += BigInt(randomInt(random, 0, 100));
      conn.onData({ direction, payload: data.subarray(0, capture), bytes: data.length, streamPos: pos[direction], tsEnterNs: clock, tsExitNs: clock + 3n });
      pos[direction] += BigInt(data.length);
      captured += capture;
    }
    if (random() < 0.3) conn.flush(clock + 1000n, 10n);
    conn.onClose(clock + 2000n);
    const c = conn.counters();
    assert.equal(c.internalErrors, 0, `iteration ${iter}`);
    assert.ok(c.parseErrorBytes <= captured, `iteration ${iter}`);
    assert.ok(c.parseErrorEvents <= c.parseErrorBytes + c.requests.messages + c.responses.messages + 2, `iteration ${iter}`);
    assert.equal(c.exchanges, exchanges.length);
    assert.ok(c.exchangesWithoutResponse <= c.exchanges);
    for (let k = 0; k < exchanges.length; k++) {
      const e = exchanges[k]!;
      if (k > 0) assert.ok(e.index > exchanges[k - 1]!.index, 'indices increase');
      assert.ok(Number.isSafeInteger(e.requestBytes) && e.requestBytes >= e.request.headerBytes && e.request.bodyBytes >= 0);
      assert.ok(e.requestEndNs >= e.requestStartNs || e.request.truncated);
      if (e.response) assert.ok(e.responseBytes >= e.response.headerBytes + e.response.bodyBytes);
      else assert.ok(e.missingResponseReason !== undefined);
    }
  }
});

test('hostile inputs never throw: nonsense sizes, non-buffers, huge gaps, calls after close', () => {
  const out: Http1Exchange[] = [];
  const conn = new Http1Connection({ role: 'client', onExchange: (e) => out.push(e) });
  const p = Buffer.from('GET / HTTP/1.1\r\n\r\n');
  assert.doesNotThrow(() => {
    conn.onData({ direction: 'egress', payload: p, bytes: Number.NaN, streamPos: 0n, tsEnterNs: 0n, tsExitNs: 0n });
    conn.onData({ direction: 'egress', payload: p, bytes: -5, streamPos: 10n ** 30n, tsEnterNs: 0n, tsExitNs: 0n });
    conn.onData({ direction: 'ingress', payload: undefined as unknown as Buffer, bytes: 3, streamPos: 0n, tsEnterNs: 0n, tsExitNs: 0n });
    conn.onData({ direction: 'ingress', payload: p, bytes: 1e300, streamPos: -4n, tsEnterNs: 0n, tsExitNs: 0n });
    conn.flush(-1n, -1n);
    conn.onClose(0n);
    conn.onClose(0n);
    conn.onData({ direction: 'egress', payload: p, bytes: p.length, streamPos: 0n, tsEnterNs: 0n, tsExitNs: 0n });
  });
  assert.ok(out.length >= 1);
});

test('a throwing consumer callback does not escape the parser', () => {
  const conn = new Http1Connection({
    role: 'client',
    onExchange: () => {
      throw new Error('consumer bug');
    },
  });
  const send = (direction: Direction, s: string, pos: bigint): void =>
    conn.onData({ direction, payload: Buffer.from(s), bytes: s.length, streamPos: pos, tsEnterNs: 0n, tsExitNs: 0n });
  const req = 'GET / HTTP/1.1\r\n\r\n';
  const res = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
  assert.doesNotThrow(() => {
    send('egress', req, 0n);
    send('ingress', res, 0n);
    send('egress', req, BigInt(req.length));
    send('ingress', res, BigInt(res.length));
  });
  const c = conn.counters();
  assert.equal(c.consumerErrors, 2);
  assert.equal(c.exchanges, 2, 'parsing went on undisturbed');
  assert.equal(c.internalErrors, 0);
});

test('random mixes of valid, broken and partial messages parse the same in any chunking', () => {
  const pieces = {
    request: ['GET / HTTP/1.1\r\n\r\n', 'POST /p HTTP/1.1\r\nContent-Length: 4\r\n\r\nbody', 'PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\nA: b\r\n\r\n', 'X', 'GET', ' HTTP/1.1\r\n', '\r\n\r\n', 'HEAD /h HTTP/1.0\n\n', 'GET /bad HTTP/1.1\r\nbad\r\n\r\n', '\x00\xff', 'Content-Length: 2\r\n'],
    response: ['HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', 'HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 204 No Content\r\n\r\n', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n', 'H', 'HTTP/1.1', ' 200', '\r\n', 'zz', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n'],
  };
  const random = seededRandom(7);
  for (let iter = 0; iter < 1500; iter++) {
    const isRequest = random() < 0.5;
    const list = isRequest ? pieces.request : pieces.response;
    const parts: string[] = [];
    for (let k = randomInt(random, 1, 15); k > 0; k--) parts.push(list[randomInt(random, 0, list.length - 1)] as string);
    const text = parts.join('');
    const sizes = Array.from({ length: 5 }, () => randomInt(random, 1, 30));
    const methods = Array.from({ length: 20 }, () => (random() < 0.2 ? 'HEAD' : 'GET'));
    const make = (): { parser: { push(c: Http1Chunk): void; end(): void; counters: Http1ParserCounters }; messages: readonly Http1Message[] } =>
      isRequest ? collectRequests() : collectResponses(methods);
    const whole = make();
    feed(whole.parser, text);
    whole.parser.end();
    const split = make();
    feed(split.parser, text, sizes);
    split.parser.end();
    const context = JSON.stringify({ text, sizes });
    assert.deepEqual(withoutTimes(split.messages), withoutTimes(whole.messages), context);
    assert.deepEqual(split.parser.counters, whole.parser.counters, context);
  }
});
