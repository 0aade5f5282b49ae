/**
 * A gRPC channel after a message larger than the capture (4 KiB of a call's
 * bytes): the frames it lost, and whether the header table survived them.
 * Peers are modelled as grpc-js behaves on loopback: header fields indexed
 * into the dynamic table (later calls refer to them, names too), a large
 * message in 16 KiB DATA frames written in one call, read back in 64 KiB
 * reads that end wherever they end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Http2Connection, frameChainEndingAt, grpcCall, isGrpc, type Http2Exchange } from '../../../../backend-agent/src/protocols/http2/index.js';
import { END_HEADERS, END_STREAM, H2Harness, data, frame, grpcMessage, header, headers, rep, windowUpdate } from './helpers.js';

const CAPTURE = 4096;
const MAX_FRAME = 16384;
const LARGE = 64 * 1024;

/** Full matches and names in the static table (RFC 7541 appendix A) that these calls use. */
const STATIC_FULL: Record<string, number> = { ':method POST': 3, ':scheme http': 6, ':status 200': 8 };
const STATIC_NAME: Record<string, number> = { ':authority': 1, ':path': 4, 'content-type': 31, 'user-agent': 58 };

/** A peer's HPACK encoder that indexes everything, as nghttp2 does for these fields; no eviction (asserted). */
class Encoder {
  private table: Array<[string, string]> = [];
  private size = 0;

  encode(fields: Array<[string, string]>): Buffer {
    const out: Buffer[] = [];
    for (const [name, value] of fields) {
      const full = STATIC_FULL[`${name} ${value}`];
      const dyn = this.table.findIndex(([n, v]) => n === name && v === value);
      if (full !== undefined) out.push(rep.indexed(full));
      else if (dyn >= 0) out.push(rep.indexed(62 + dyn));
      else {
        const dynName = this.table.findIndex(([n]) => n === name);
        out.push(rep.incremental(dynName >= 0 ? 62 + dynName : (STATIC_NAME[name] ?? name), value));
        this.table.unshift([name, value]);
        this.size += name.length + value.length + 32;
        assert.ok(this.size <= 4096, 'the model does no eviction');
      }
    }
    return Buffer.concat(out);
  }
}

interface Call {
  method: 'SayHello' | 'Fail';
  requestBytes: number;
  responseBytes: number;
  /** grpc-status the server sends. */
  status: number;
  /** Trailers go out in the same write as the response's DATA (else in a write of their own). */
  trailersWithData?: boolean;
}

interface Peers {
  h: H2Harness;
  client: Encoder;
  server: Encoder;
  nextStream: number;
  /** Cut each direction into reads of this size (whole writes when undefined). */
  readSize: number | undefined;
}

function dataFrames(streamId: number, message: Buffer, endStream: boolean): Buffer {
  const frames: Buffer[] = [];
  for (let at = 0; at < message.length; at += MAX_FRAME) {
    const last = at + MAX_FRAME >= message.length;
    frames.push(data(streamId, message.subarray(at, at + MAX_FRAME), endStream && last));
  }
  return Buffer.concat(frames);
}

/** Sends one direction's bytes as the observed process moved them, every call captured up to 4 KiB. */
function send(p: Peers, from: 'client' | 'server', bytes: Buffer): void {
  const size = p.readSize ?? bytes.length;
  for (let at = 0; at < bytes.length; at += size) p.h[from](bytes.subarray(at, at + size), { capture: CAPTURE });
}

function traceparent(streamId: number): string {
  return `00-${streamId.toString(16).padStart(32, '0')}-${streamId.toString(16).padStart(16, '0')}-01`;
}

function unary(p: Peers, call: Call): number {
  const id = p.nextStream;
  p.nextStream += 2;
  const request = p.client.encode([
    [':method', 'POST'],
    [':scheme', 'http'],
    [':path', `/wiretrace.test.Greeter/${call.method}`],
    [':authority', '127.0.0.1:19310'],
    ['traceparent', traceparent(id)],
    ['user-agent', 'grpc-node-js/1.14.7'],
    ['content-type', 'application/grpc'],
    ['te', 'trailers'],
  ]);
  send(p, 'client', Buffer.concat([headers(id, request), dataFrames(id, grpcMessage(call.requestBytes), true)]));
  if (call.method === 'Fail') {
    const only = p.server.encode([[':status', '200'], ['content-type', 'application/grpc+proto'], ['grpc-status', String(call.status)], ['grpc-message', 'no%20greeting']]);
    send(p, 'server', headers(id, only, END_HEADERS | END_STREAM));
    return id;
  }
  const head = headers(id, p.server.encode([[':status', '200'], ['content-type', 'application/grpc+proto'], ['grpc-encoding', 'identity']]));
  const body = dataFrames(id, grpcMessage(call.responseBytes), false);
  const trailers = headers(id, p.server.encode([['grpc-status', String(call.status)], ['grpc-message', 'OK']]), END_HEADERS | END_STREAM);
  if (call.trailersWithData) send(p, 'server', Buffer.concat([head, body, trailers]));
  else {
    send(p, 'server', Buffer.concat([head, body]));
    send(p, 'server', trailers);
  }
  return id;
}

function peers(role: 'client' | 'server', readSize?: number): Peers {
  return { h: new H2Harness(role).open(), client: new Encoder(), server: new Encoder(), nextStream: 1, readSize };
}

const SMALL_CALLS: Call[] = [
  { method: 'SayHello', requestBytes: 12, responseBytes: 18, status: 0 },
  { method: 'SayHello', requestBytes: 14, responseBytes: 20, status: 0 },
  { method: 'Fail', requestBytes: 14, responseBytes: 0, status: 5 },
  { method: 'SayHello', requestBytes: 14, responseBytes: 20, status: 0 },
];

function byStream(exchanges: Http2Exchange[], id: number): Http2Exchange {
  const ex = exchanges.find((e) => e.streamId === id);
  assert.ok(ex, `stream ${id} reported`);
  return ex;
}

for (const role of ['client', 'server'] as const) {
  for (const [how, readSize] of [['writes', undefined], ['64 KiB reads', 65536]] as const) {
    test(`a 64 KiB call cut by the capture, then small calls (${role} observed, ${how}): every later call has its method, status and trace context`, () => {
      const p = peers(role, readSize);
      // Read back, the trailers share a read with the end of the large response (the read begins inside a DATA frame).
      const large = unary(p, { method: 'SayHello', requestBytes: LARGE, responseBytes: LARGE, status: 0, trailersWithData: readSize !== undefined });
      const later = SMALL_CALLS.map((c) => [unary(p, c), c] as const);
      p.h.close();
      const c = p.h.counters();
      assert.ok(c.uncapturedBytes > LARGE, 'most of both large messages was not captured');
      assert.ok(c.lostSync >= 2, 'the lost bytes ran past frame boundaries in both directions');
      assert.equal(c.hpackKeptAcrossGaps, c.lostSync, 'each loss was judged free of header blocks');
      assert.equal(c.hpackLostToGaps, 0);
      assert.equal(c.degradedHeaderBlocks, 0);
      assert.equal(c.unknownHeaderFields, 0);
      if (readSize !== undefined) assert.ok(c.recoveredFrameBytes > 0, 'the frames at the end of a skipped read were found');
      const first = byStream(p.h.exchanges, large);
      assert.equal(first.truncated, true);
      assert.equal(grpcCall(first)?.method, 'SayHello');
      for (const [id, call] of later) {
        const ex = byStream(p.h.exchanges, id);
        assert.equal(isGrpc(ex), true, `stream ${id} is gRPC (content-type from the dynamic table)`);
        const rpc = grpcCall(ex);
        assert.equal(rpc?.method, call.method, `stream ${id} method`);
        assert.equal(rpc?.statusCode, call.status, `stream ${id} grpc-status`);
        assert.equal(header(ex.request.headers, 'traceparent'), traceparent(id), `stream ${id} traceparent (name from the dynamic table)`);
        assert.equal(ex.truncated, false);
        assert.equal(ex.incomplete, undefined);
      }
    });
  }
}

/** Reported values must be true: a field is either right or not reported. */
function assertNothingWrong(p: Peers, later: ReadonlyArray<readonly [number, Call]>): void {
  for (const [id, call] of later) {
    const ex = p.h.exchanges.find((e) => e.streamId === id);
    if (!ex) continue;
    const rpc = grpcCall(ex);
    if (rpc) assert.equal(rpc.method, call.method);
    if (rpc?.statusCode !== undefined) assert.equal(rpc.statusCode, call.status, `stream ${id} status`);
    const tp = header(ex.request.headers, 'traceparent');
    if (tp !== undefined) assert.equal(tp, traceparent(id));
  }
}

test('trailers lost with the large response: the server table is unknown from there (degraded, counted), nothing reported is wrong', () => {
  const p = peers('client');
  unary(p, { method: 'SayHello', requestBytes: 100, responseBytes: LARGE, status: 0, trailersWithData: true });
  const later = SMALL_CALLS.map((c) => [unary(p, c), c] as const);
  p.h.close();
  const c = p.h.counters();
  assert.equal(c.hpackLostToGaps, 1, 'the response trailers may have been (and were) in the lost bytes');
  assert.ok(c.degradedHeaderBlocks > 0, 'later responses decoded in degraded mode');
  assertNothingWrong(p, later);
  // Requests were not touched by the loss: their methods and trace context are all there.
  for (const [id, call] of later) {
    const ex = byStream(p.h.exchanges, id);
    assert.equal(grpcCall(ex)?.method, call.method);
    assert.equal(header(ex.request.headers, 'traceparent'), traceparent(id));
  }
});

test('a request opened inside the lost bytes: the client table is unknown from there (degraded, counted), nothing reported is wrong', () => {
  const p = peers('server');
  const client = p.client;
  const request = (id: number, method: string): Buffer =>
    headers(id, client.encode([[':method', 'POST'], [':scheme', 'http'], [':path', `/wiretrace.test.Greeter/${method}`], [':authority', '127.0.0.1:19310'], ['traceparent', traceparent(id)], ['content-type', 'application/grpc'], ['te', 'trailers']]));
  // Stream 1's large request and stream 3's whole request in one write: stream 3 is in the lost bytes.
  send(p, 'client', Buffer.concat([request(1, 'SayHello'), dataFrames(1, grpcMessage(LARGE), true), request(3, 'SayHello'), dataFrames(3, grpcMessage(10), true)]));
  p.nextStream = 5;
  const later = [[unary(p, SMALL_CALLS[0]!), SMALL_CALLS[0]!] as const];
  p.h.close();
  const c = p.h.counters();
  assert.equal(c.hpackLostToGaps, 1, 'stream 5 opened next, not stream 3: a request header block was lost');
  assert.equal(c.hpackKeptAcrossGaps, 0);
  assert.ok(c.unknownHeaderFields > 0, 'fields referring to entries stream 3 inserted are unknown, not guessed');
  assertNothingWrong(p, later);
});

test('a loss that cuts a HEADERS frame, or on plain HTTP/2: the table is given up (degraded, counted) as before', () => {
  const cut = peers('client');
  unary(cut, { method: 'SayHello', requestBytes: 10, responseBytes: 10, status: 0 });
  // A request whose header block alone is larger than the capture.
  const id = cut.nextStream;
  const big = Buffer.concat([
    cut.client.encode([[':method', 'POST'], [':scheme', 'http'], [':path', '/wiretrace.test.Greeter/SayHello']]),
    rep.withoutIndexing('x-big', 'y'.repeat(6000)),
    cut.client.encode([['content-type', 'application/grpc']]),
  ]);
  cut.h.client(Buffer.concat([headers(id, big), dataFrames(id, grpcMessage(10), true)]), { capture: CAPTURE });
  cut.nextStream += 2;
  unary(cut, SMALL_CALLS[0]!);
  assert.equal(cut.h.counters().lostSync, 1);
  assert.equal(cut.h.counters().hpackLostToGaps, 1);
  assert.equal(cut.h.counters().hpackKeptAcrossGaps, 0);
  assert.ok(cut.h.counters().degradedHeaderBlocks > 0, 'the next request, referring to the table, is decoded in degraded mode');

  const h2 = peers('client');
  const enc = h2.client;
  h2.h.client(headers(1, enc.encode([[':method', 'POST'], [':scheme', 'http'], [':path', '/upload'], [':authority', 'svc'], ['content-type', 'application/octet-stream']])));
  h2.h.client(dataFrames(1, Buffer.alloc(LARGE, 1), true), { capture: CAPTURE });
  h2.h.client(headers(3, enc.encode([[':method', 'POST'], [':scheme', 'http'], [':path', '/upload'], [':authority', 'svc']]), END_HEADERS | END_STREAM));
  const c = h2.h.counters();
  assert.equal(c.lostSync, 1);
  assert.equal(c.hpackLostToGaps, 1, 'not gRPC: request trailers or pushes may have been lost');
  assert.equal(c.hpackKeptAcrossGaps, 0);
});

test('a server stream whose response may have begun in the lost bytes keeps the table from being trusted', () => {
  const p = peers('client');
  // Two calls in flight; the large response of stream 1 is cut, and stream 3 gets no DATA before stream 1's trailers.
  const enc = p.client;
  const req = (id: number): Buffer =>
    headers(id, enc.encode([[':method', 'POST'], [':scheme', 'http'], [':path', '/wiretrace.test.Greeter/SayHello'], [':authority', 'a'], ['content-type', 'application/grpc']]));
  p.h.client(Buffer.concat([req(1), dataFrames(1, grpcMessage(10), true)]));
  p.h.client(Buffer.concat([req(3), dataFrames(3, grpcMessage(10), true)]));
  const srv = p.server;
  p.h.server(Buffer.concat([headers(1, srv.encode([[':status', '200'], ['content-type', 'application/grpc']])), dataFrames(1, grpcMessage(LARGE), false)]), { capture: CAPTURE });
  p.h.server(headers(1, srv.encode([['grpc-status', '0']]), END_HEADERS | END_STREAM));
  const c = p.h.counters();
  assert.equal(c.hpackLostToGaps, 1, "stream 3's response headers may have been in the lost bytes");
  assert.equal(c.hpackKeptAcrossGaps, 0);
});

test('lost bytes inside one DATA frame keep the frames in step (no loss of sync, nothing to judge)', () => {
  const p = peers('client');
  const enc = p.client;
  p.h.client(Buffer.concat([headers(1, enc.encode([[':method', 'POST'], [':scheme', 'http'], [':path', '/wiretrace.test.Greeter/SayHello'], ['content-type', 'application/grpc']])), frame(0x0, END_STREAM, 1, Buffer.alloc(MAX_FRAME))]), { capture: CAPTURE });
  p.h.server(headers(1, p.server.encode([[':status', '200'], ['grpc-status', '0']]), END_HEADERS | END_STREAM));
  const c = p.h.counters();
  assert.equal(c.lostSync, 0);
  assert.equal(c.hpackKeptAcrossGaps + c.hpackLostToGaps, 0);
  assert.equal(p.h.exchanges[0]?.truncated, true);
  assert.equal(grpcCall(p.h.exchanges[0]!)?.statusCode, 0);
});

test('the frames at the end of skipped bytes: found only when a chain of them lands exactly on the boundary', () => {
  const tail = Buffer.concat([data(1, Buffer.alloc(16, 0x61)), headers(1, rep.indexed(8), END_HEADERS | END_STREAM)]);
  const payloadEnd = Buffer.alloc(100, 0x61);
  assert.equal(frameChainEndingAt(Buffer.concat([payloadEnd, tail]), 16384), 100);
  assert.equal(frameChainEndingAt(Buffer.concat([payloadEnd, tail, Buffer.from([0])]), 16384), undefined, 'one byte more: no chain ends there');
  assert.equal(frameChainEndingAt(Buffer.concat([Buffer.alloc(50, 0x78), windowUpdate(0, 100), tail]), 16384), 50);
  assert.equal(frameChainEndingAt(Buffer.alloc(64, 0x61), 16384), undefined);
});

interface CapturedEvent {
  direction: 'egress' | 'ingress';
  streamPos: number;
  bytes: number;
  enterNs: number;
  exitNs: number;
  payload: string;
}

test('real capture (grpc-js under eBPF, 4 KiB prefix): a 64 KiB call then four small ones, both ends, every call in full', () => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const fixture = JSON.parse(fs.readFileSync(path.join(here, 'fixtures', 'grpc-js-large-ebpf.json'), 'utf8')) as {
    connections: Array<{ role: 'client' | 'server'; events: CapturedEvent[] }>;
  };
  const traceparents: Record<'client' | 'server', Map<number, string | undefined>> = { client: new Map(), server: new Map() };
  for (const { role, events } of fixture.connections) {
    const exchanges: Http2Exchange[] = [];
    const conn = new Http2Connection({ role, onExchange: (e) => exchanges.push(e) });
    for (const e of events) {
      conn.onData({ direction: e.direction, payload: Buffer.from(e.payload, 'base64'), bytes: e.bytes, streamPos: BigInt(e.streamPos), tsEnterNs: BigInt(e.enterNs), tsExitNs: BigInt(e.exitNs) });
    }
    conn.onClose(10n ** 12n);
    const c = conn.snapshot();
    assert.ok(c.uncapturedBytes > 2 * LARGE - 2 * CAPTURE - 1000, `${role}: both large messages were cut`);
    assert.equal(c.lostSync, 2, `${role}: frame boundaries lost once each way`);
    assert.equal(c.hpackKeptAcrossGaps, 2);
    assert.equal(c.degradedHeaderBlocks, 0);
    const calls = [...exchanges].sort((a, b) => a.streamId - b.streamId).map((e) => [e.streamId, grpcCall(e)?.method, grpcCall(e)?.statusCode]);
    assert.deepEqual(calls, [[1, 'SayHello', 0], [3, 'SayHello', 0], [5, 'SayHello', 0], [7, 'Fail', 5], [9, 'SayHello', 0]], role);
    for (const e of exchanges) traceparents[role].set(e.streamId, header(e.request.headers, 'traceparent'));
  }
  assert.deepEqual([...traceparents.client.entries()].sort(), [...traceparents.server.entries()].sort(), 'both ends read the same trace context');
  for (const tp of traceparents.client.values()) assert.match(tp ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
});
