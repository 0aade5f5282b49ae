/**
 * Regression tests for HTTP/1 pairing after a stray response (one answering no
 * request this connection saw). The fuzzer found 3.8% of "garbage then a gap
 * then a well-formed exchange" streams losing the next request's response:
 * the stray's headers were trusted for its framing, so a close-delimited body
 * (no or invalid Content-Length), a 101, or a declared length running across
 * the gap turned the next response into body or tunnel bytes.
 *
 * The controls pin what must not change: a response that does answer a
 * request keeps its RFC framing (close-delimited stays close-delimited), and a
 * stray response's declared length still holds while no bytes are lost.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Http1Connection } from '../../backend-agent/src/protocols/http1/index.js';
import type { Http1DirectedChunk, Http1Exchange } from '../../backend-agent/src/protocols/http1/types.js';
import type { Direction } from '../../backend-agent/src/model/events.js';

/** A client-side connection fed call by call, with stream positions and one clock for both directions. */
class Stream {
  readonly exchanges: Http1Exchange[] = [];
  readonly conn = new Http1Connection({ role: 'client', onExchange: (e) => this.exchanges.push(e) });
  private t = 1_000n;
  private readonly pos: Record<Direction, bigint> = { egress: 0n, ingress: 0n };

  send(text: string, gap = 0): this {
    return this.feed('egress', text, gap);
  }
  receive(text: string, gap = 0): this {
    return this.feed('ingress', text, gap);
  }
  close(): Array<[string, number | undefined, string | undefined]> {
    this.conn.onClose(this.t + 1_000_000n);
    return this.exchanges.map((e) => [e.request.path, e.response?.statusCode, e.missingResponseReason]);
  }
  private feed(direction: Direction, text: string, gap: number): this {
    this.pos[direction] += BigInt(gap);
    const payload = Buffer.from(text, 'latin1');
    const chunk: Http1DirectedChunk = { direction, payload, bytes: payload.length, streamPos: this.pos[direction], tsEnterNs: this.t, tsExitNs: this.t + 10n };
    this.pos[direction] += BigInt(payload.length);
    this.t += 1_000n;
    this.conn.onData(chunk);
    return this;
  }
}

const GET_A = 'GET /a HTTP/1.1\r\nHost: x\r\n\r\n';
const GET_B = 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n';
const OK_A = 'HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n';
const OK_B = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

const STRAYS: Array<[string, string]> = [
  ['without Content-Length (close-delimited by the RFC)', 'HTTP/1.1 200 OK\r\nGontent-Length: 2\r\n\r\nok'],
  ['with an invalid Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 2\x7f\r\n\r\nok'],
  ['with an unknown transfer coding', 'HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked T#yF\r\n\r\n3\r\nabc\r\n0\r\n\r\n'],
  ['that is a 101 Switching Protocols', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'],
  ['whose Content-Length runs past a gap', 'HTTP/1.1 201 Created\r\nContent-Length: 70\r\n\r\n'],
  ['whose chunk size runs past a gap', 'HTTP/1.1 500 Oops\r\nTransfer-Encoding: chunked\r\n\r\nabc\r\n0\r\n\r\n'],
];

for (const [what, stray] of STRAYS) {
  test(`after a stray response ${what}, the next request still gets its response`, () => {
    const s = new Stream().send(GET_A).receive(OK_A).receive(stray);
    // Lost bytes on both directions, as a kernel drop delivers them.
    s.send(GET_B, 100).receive(OK_B, 60);
    assert.deepEqual(s.close(), [
      ['/a', 201, undefined],
      ['/b', 200, undefined],
    ]);
    assert.equal(s.conn.counters().orphanResponses, 1, 'the stray response is counted, not paired');
  });
}

test('control: a response that answers a request keeps close-delimited framing', () => {
  // Without Content-Length the body runs to the close (RFC 9112 6.3): what looks
  // like a status line inside it is body.
  const s = new Stream().send(GET_A).receive('HTTP/1.1 200 OK\r\n\r\npart one ').receive('HTTP/1.1 404 inside the body\r\n\r\n');
  assert.deepEqual(s.close(), [['/a', 200, undefined]]);
  const response = s.exchanges[0]?.response;
  assert.equal(response?.bodyBytes, 'part one '.length + 'HTTP/1.1 404 inside the body\r\n\r\n'.length);
  assert.equal(s.conn.counters().orphanResponses, 0);
});

test('control: a stray response keeps its declared length while no bytes are lost', () => {
  const body = 'HTTP/1.1 404 not a response, body\r\n\r\n';
  const s = new Stream()
    .send(GET_A)
    .receive(OK_A)
    .receive(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`)
    .receive(body)
    .send(GET_B)
    .receive(OK_B);
  assert.deepEqual(s.close(), [
    ['/a', 201, undefined],
    ['/b', 200, undefined],
  ]);
  // The status line inside the stray's body was not taken for a response.
  assert.equal(s.conn.counters().orphanResponses, 1);
  assert.equal(s.conn.counters().responses.messages, 3);
});
