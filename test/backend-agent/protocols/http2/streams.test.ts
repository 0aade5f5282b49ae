import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grpcCall, parseGrpcPath, percentDecode } from '../../../../backend-agent/src/protocols/http2/index.js';
import {
  END_HEADERS, END_STREAM, H2Harness, block, continuation, data, frame, goaway, grpcMessage, grpcRequestBlock, header, headers, rep, rstStream, settings,
} from './helpers.js';

const STATUS_200 = rep.indexed(8);

/** gRPC response headers then trailers on a fresh server table. */
function grpcResponse(h: H2Harness, streamId: number, status: number, message?: string): void {
  h.server(headers(streamId, block(STATUS_200, rep.incremental('content-type', 'application/grpc'))));
  h.server(data(streamId, grpcMessage(7)));
  const trailers = [rep.withoutIndexing('grpc-status', String(status))];
  if (message) trailers.push(rep.withoutIndexing('grpc-message', message));
  h.server(headers(streamId, block(...trailers), END_HEADERS | END_STREAM));
}

test('interleaved streams on one connection each become their own exchange, with their own times and sizes', () => {
  const h = new H2Harness('client').open();
  h.client(headers(1, grpcRequestBlock('/shop.Cart/Add')));
  // After stream 1: 62 te, 63 content-type, 64 :authority, 65 :path; the new :path then shifts them by one.
  h.client(headers(3, block(rep.indexed(3), rep.indexed(6), rep.incremental(4, '/shop.Cart/Get'), rep.indexed(65), rep.indexed(64), rep.indexed(63))));
  h.client(data(3, grpcMessage(2), true));
  h.client(data(1, grpcMessage(10)));
  h.server(headers(3, block(STATUS_200, rep.incremental('content-type', 'application/grpc'))));
  h.client(data(1, grpcMessage(1), true));
  h.server(headers(1, block(STATUS_200, rep.indexed(62))));
  h.server(data(1, grpcMessage(4)));
  h.server(data(3, grpcMessage(5)));
  h.server(headers(3, block(rep.withoutIndexing('grpc-status', '0')), END_HEADERS | END_STREAM));
  h.server(headers(1, block(rep.withoutIndexing('grpc-status', '0')), END_HEADERS | END_STREAM));
  assert.deepEqual(h.exchanges.map((e) => [e.streamId, e.index]), [[3, 1], [1, 0]]);
  const [s3, s1] = h.exchanges as [NonNullable<(typeof h.exchanges)[0]>, NonNullable<(typeof h.exchanges)[0]>];
  assert.equal(header(s3.request.headers, ':path'), '/shop.Cart/Get');
  assert.equal(header(s3.request.headers, 'content-type'), 'application/grpc', 'dynamic entries inserted by stream 1');
  assert.equal(header(s3.request.headers, 'te'), 'trailers');
  assert.equal(header(s3.request.headers, ':authority'), 'svc:50051');
  assert.equal(s1.request.bodyBytes, 15 + 6);
  assert.equal(s3.request.bodyBytes, 7);
  assert.equal(s1.response!.bodyBytes, 9);
  assert.ok(s1.request.firstByteNs < s3.request.firstByteNs);
  assert.ok(s1.request.lastByteNs > s3.request.lastByteNs, 'stream 1 ended its request after stream 3 did');
  assert.ok(s1.response!.lastByteNs > s3.response!.lastByteNs);
  assert.equal(s1.response!.status, 200);
  assert.deepEqual(s1.response!.trailers, [['grpc-status', '0']]);
  assert.equal(s1.request.tid, 7);
  assert.equal(h.counters().exchanges, 2);
});

test('gRPC method from :path and status from trailers, percent-decoded message', () => {
  const h = new H2Harness('server').open();
  h.client(headers(1, grpcRequestBlock('/shop.v1.Payments/Charge'), END_HEADERS));
  h.client(data(1, grpcMessage(3), true));
  grpcResponse(h, 1, 5, 'card%20%C3%A9xpired');
  const call = grpcCall(h.exchanges[0]!);
  assert.deepEqual(call, { system: 'grpc', service: 'shop.v1.Payments', method: 'Charge', statusCode: 5, statusMessage: 'card éxpired' });
});

test('gRPC trailers-only response: the status is in the one header block', () => {
  const h = new H2Harness('client').open();
  h.client(headers(1, grpcRequestBlock('/a.B/C'), END_HEADERS | END_STREAM));
  h.server(headers(1, block(STATUS_200, rep.withoutIndexing('grpc-status', '12'), rep.withoutIndexing('content-type', 'application/grpc')), END_HEADERS | END_STREAM));
  const ex = h.exchanges[0]!;
  assert.equal(ex.response!.bodyBytes, 0);
  assert.deepEqual(ex.response!.trailers, []);
  assert.equal(grpcCall(ex)!.statusCode, 12);
});

test('RST_STREAM ends a stream at once: a cancelled gRPC call is CANCELLED, with the response it got so far', () => {
  const h = new H2Harness('client').open();
  h.client(headers(1, grpcRequestBlock('/a.B/Stream'), END_HEADERS | END_STREAM));
  h.server(headers(1, block(STATUS_200, rep.incremental('content-type', 'application/grpc'))));
  h.server(data(1, grpcMessage(3)));
  h.client(rstStream(1, 0x8));
  assert.equal(h.exchanges.length, 1);
  const ex = h.exchanges[0]!;
  assert.deepEqual(ex.reset, { code: 8, by: 'client' });
  assert.equal(ex.incomplete, 'reset');
  assert.equal(ex.response!.bodyBytes, 8);
  assert.equal(grpcCall(ex)!.statusCode, 1);
  h.server(data(1, grpcMessage(3), true));
  assert.equal(h.counters().lateFrames, 1, 'frames after the reset are late, not a new stream');
  assert.equal(h.counters().orphanStreams, 0);
});

test('RST_STREAM before any response: no response, reason reset (REFUSED_STREAM -> UNAVAILABLE for gRPC)', () => {
  const h = new H2Harness('client').open();
  h.client(headers(1, grpcRequestBlock('/a.B/C'), END_HEADERS | END_STREAM));
  h.server(rstStream(1, 0x7));
  const ex = h.exchanges[0]!;
  assert.equal(ex.response, undefined);
  assert.equal(grpcCall(ex)!.statusCode, 14);
  assert.equal(h.counters().exchangesWithoutResponse, 1);
});

test('GOAWAY: streams above the last stream id were never processed; the others finish normally', () => {
  const h = new H2Harness('client').open();
  for (const id of [1, 3, 5]) h.client(headers(id, block(rep.indexed(2), rep.indexed(6), rep.indexed(4), rep.withoutIndexing(1, 'h')), END_HEADERS | END_STREAM));
  h.server(goaway(1, 0));
  assert.deepEqual(h.exchanges.map((e) => [e.streamId, e.incomplete]), [[3, 'goaway'], [5, 'goaway']]);
  h.server(headers(1, block(STATUS_200), END_HEADERS | END_STREAM));
  assert.deepEqual(h.exchanges.map((e) => e.streamId), [3, 5, 1]);
  assert.equal(h.exchanges[2]!.incomplete, undefined);
  assert.equal(h.counters().goaways, 1);
});

test('1xx interim responses come before the final one', () => {
  const h = new H2Harness('client').open();
  h.client(headers(1, block(rep.indexed(3), rep.indexed(6), rep.withoutIndexing(4, '/upload'), rep.withoutIndexing('expect', '100-continue')), END_HEADERS));
  h.server(headers(1, block(rep.withoutIndexing(8, '100'))));
  h.client(data(1, 'payload', true));
  h.server(headers(1, block(rep.withoutIndexing(8, '201')), END_HEADERS | END_STREAM));
  const res = h.exchanges[0]!.response!;
  assert.equal(res.status, 201);
  assert.deepEqual(res.interimStatuses, [100]);
});

test('server push: the promise keeps HPACK in step, the pushed stream is not reported', () => {
  const h = new H2Harness('client').open();
  h.client(headers(1, block(rep.indexed(2), rep.indexed(6), rep.indexed(4), rep.withoutIndexing(1, 'h')), END_HEADERS | END_STREAM));
  const promised = Buffer.alloc(4);
  promised.writeUInt32BE(2);
  h.server(frame(0x5, END_HEADERS, 1, Buffer.concat([promised, block(rep.indexed(2), rep.incremental(4, '/style.css'))])));
  h.server(headers(2, block(STATUS_200), END_HEADERS | END_STREAM));
  h.server(headers(1, block(STATUS_200, rep.indexed(62)), END_HEADERS | END_STREAM));
  assert.deepEqual(h.exchanges.map((e) => e.streamId), [1]);
  assert.deepEqual(h.exchanges[0]!.response!.headers, [[':status', '200'], [':path', '/style.css']], 'index 62 is the entry the promise inserted');
  assert.equal(h.counters().pushedStreams, 1);
});

test('close: open streams are reported, without response or with the part that came', () => {
  const h = new H2Harness('client').open();
  h.client(headers(1, grpcRequestBlock('/a.B/C'), END_HEADERS | END_STREAM));
  h.client(headers(3, block(rep.indexed(3), rep.indexed(6), rep.indexed(62), rep.indexed(63)), END_HEADERS | END_STREAM));
  h.server(headers(3, block(STATUS_200)));
  h.close();
  assert.deepEqual(h.exchanges.map((e) => [e.streamId, e.incomplete, e.response !== undefined]), [[1, 'closed', false], [3, 'closed', true]]);
  h.client(data(5, 'late'));
  assert.equal(h.exchanges.length, 2, 'nothing after close');
});

test('flush: a stream waiting longer than the time-out is reported without response; 0 reports all', () => {
  const h = new H2Harness('client').open();
  h.client(headers(1, grpcRequestBlock('/a.B/C'), END_HEADERS | END_STREAM));
  h.client(headers(3, block(rep.indexed(3), rep.indexed(6), rep.indexed(62), rep.indexed(63)), END_HEADERS | END_STREAM));
  h.server(headers(3, block(STATUS_200)));
  h.connection.flush(h.clock.now + 1_000_000n, 500_000n);
  assert.deepEqual(h.exchanges.map((e) => [e.streamId, e.incomplete]), [[1, 'timeout']]);
  h.connection.flush(h.clock.now, 0n);
  assert.deepEqual(h.exchanges.map((e) => e.streamId), [1, 3]);
});

test('joined mid-stream: static and literal headers decoded, dynamic ones unknown and counted, never guessed', () => {
  const h = new H2Harness('server');
  // No preface: the connection was open before capture. Stream 7 was already running.
  h.client(data(7, grpcMessage(3), true));
  h.server(data(7, grpcMessage(3)));
  h.client(headers(9, block(rep.indexed(3), rep.indexed(6), rep.indexed(65), rep.indexed(64), rep.withoutIndexing('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')), END_HEADERS | END_STREAM));
  h.server(headers(9, block(STATUS_200, rep.indexed(62))));
  h.server(headers(9, block(rep.indexed(63)), END_HEADERS | END_STREAM));
  h.server(headers(7, block(rep.withoutIndexing('grpc-status', '0')), END_HEADERS | END_STREAM));
  assert.deepEqual(h.exchanges.map((e) => e.streamId), [9]);
  const ex = h.exchanges[0]!;
  assert.deepEqual(ex.request.headers, [[':method', 'POST'], [':scheme', 'http'], ['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']]);
  assert.equal(ex.request.unknownFields, 2);
  assert.equal(ex.response!.status, 200);
  assert.deepEqual(ex.response!.trailers, []);
  assert.equal(ex.response!.unknownFields, 2);
  const c = h.counters();
  assert.equal(c.orphanStreams, 1, 'stream 7 began before we joined');
  assert.equal(c.degradedHeaderBlocks, 3);
  assert.equal(c.unknownHeaderFields, 4);
  assert.equal(c.hpackErrors, 0);
  assert.equal(grpcCall(ex), undefined, 'the method is not known, so no call is claimed');
});

test('the server side is trusted from the start only when its first frame is the SETTINGS preface', () => {
  const seen = new H2Harness('client');
  seen.client(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), settings()]));
  // The server's first bytes we see are not SETTINGS: its table may hold entries we missed.
  seen.server(headers(1, block(STATUS_200), END_HEADERS));
  seen.client(headers(3, block(rep.indexed(2), rep.indexed(6), rep.indexed(4), rep.incremental(1, 'x')), END_HEADERS | END_STREAM));
  seen.server(headers(3, block(STATUS_200, rep.indexed(62)), END_HEADERS | END_STREAM));
  const ex = seen.exchanges.find((e) => e.streamId === 3)!;
  assert.deepEqual(ex.request.headers, [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'x']]);
  assert.deepEqual(ex.response!.headers, [[':status', '200']]);
  assert.equal(ex.response!.unknownFields, 1);
});

test('a header block cut by the capture prefix: the fields before the cut are kept, the stream marked truncated, HPACK desynchronised', () => {
  const h = new H2Harness('client').open();
  const hb = grpcRequestBlock('/a.B/C', [['x-big', 'v'.repeat(200)]]);
  h.client(headers(1, hb, END_HEADERS | END_STREAM), { capture: 40 });
  h.server(headers(1, block(STATUS_200), END_HEADERS | END_STREAM));
  const ex = h.exchanges[0]!;
  assert.equal(ex.truncated, true);
  assert.equal(header(ex.request.headers, ':method'), 'POST');
  assert.equal(header(ex.request.headers, 'x-big'), undefined);
  h.client(headers(3, block(rep.indexed(3), rep.indexed(62)), END_HEADERS | END_STREAM));
  h.server(headers(3, block(STATUS_200), END_HEADERS | END_STREAM));
  assert.deepEqual(h.exchanges[1]!.request.headers, [[':method', 'POST']], 'after a cut block the table is unknown');
});

test('a CONTINUATION on another stream than its HEADERS is a protocol error', () => {
  const h = new H2Harness('client').open();
  const hb = grpcRequestBlock('/a.B/C');
  h.client(headers(1, hb.subarray(0, 4), END_STREAM));
  h.client(continuation(3, hb.subarray(4)));
  assert.equal(h.counters().malformedFrames, 2);
});

test('gRPC path parsing and percent-decoding edge cases', () => {
  assert.deepEqual(parseGrpcPath('/helloworld.Greeter/SayHello'), { service: 'helloworld.Greeter', method: 'SayHello' });
  assert.deepEqual(parseGrpcPath('/Greeter/Say'), { service: 'Greeter', method: 'Say' });
  for (const bad of ['', '/', '//x', '/a/', 'a/b', '/a/b/c']) assert.equal(parseGrpcPath(bad), undefined, bad);
  assert.equal(percentDecode('100%'), '100%');
  assert.equal(percentDecode('a%2Fb'), 'a/b');
});
