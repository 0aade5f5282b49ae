import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameReader, emptyCounters, frameChainAt, frameHeaderProblem, readFrameHeader, CLIENT_PREFACE, type Frame } from '../../../../backend-agent/src/protocols/http2/index.js';
import {
  END_HEADERS, END_STREAM, H2Harness, PADDED, PRIORITY, block, continuation, data, frame, grpcRequestBlock, header, headers, ping, rep, rstStream, settings, windowUpdate,
} from './helpers.js';

function reader(clientToServer = false): { r: FrameReader; frames: Frame[]; lost: number[]; counters: ReturnType<typeof emptyCounters> } {
  const frames: Frame[] = [];
  const lost: number[] = [];
  const counters = emptyCounters();
  const r = new FrameReader({ direction: 'egress', clientToServer, counters, onFrame: (f) => frames.push(f), onLostSync: () => lost.push(frames.length) });
  return { r, frames, lost, counters };
}

function feed(r: FrameReader, bytes: Buffer, pieces: number[] = [], capture?: number): void {
  let pos = 0n;
  let t = 0n;
  const push = (b: Buffer): void => {
    r.push({ payload: b.subarray(0, capture ?? b.length), bytes: b.length, streamPos: pos, tsEnterNs: t, tsExitNs: t + 1n });
    pos += BigInt(b.length);
    t += 10n;
  };
  if (pieces.length === 0) return push(bytes);
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const size = pieces[k % pieces.length]!;
    push(bytes.subarray(at, at + size));
    at += size;
  }
}

test('frame header fields, and the reserved bit ignored', () => {
  assert.deepEqual(readFrameHeader(frame(0x1, 0x25, 0x80000003, 'abc')), { length: 3, type: 1, flags: 0x25, streamId: 3 });
  assert.equal(readFrameHeader(Buffer.alloc(8)), undefined);
});

test('frame header problems: stream 0 rules and fixed lengths', () => {
  const h = (type: number, flags: number, streamId: number, length: number): string | undefined => frameHeaderProblem({ type, flags, streamId, length });
  assert.equal(h(0x0, 0, 1, 10), undefined);
  assert.match(h(0x0, 0, 0, 10) ?? '', /stream 0/);
  assert.match(h(0x3, 0, 1, 3) ?? '', /RST_STREAM length/);
  assert.match(h(0x4, 0, 0, 5) ?? '', /multiple of 6/);
  assert.match(h(0x4, 1, 0, 6) ?? '', /ACK with a payload/);
  assert.match(h(0x4, 0, 1, 6) ?? '', /on a stream/);
  assert.match(h(0x6, 0, 0, 7) ?? '', /PING length/);
  assert.match(h(0x7, 0, 0, 7) ?? '', /GOAWAY shorter/);
  assert.match(h(0x8, 0, 0, 5) ?? '', /WINDOW_UPDATE length/);
  assert.match(h(0x2, 0, 1, 4) ?? '', /PRIORITY length/);
  assert.equal(h(0xfa, 0xff, 0, 99), undefined, 'unknown types must be ignored, not refused');
});

test('frame chains: real frames pass, text and TLS records do not', () => {
  assert.equal(frameChainAt(Buffer.concat([settings([[3, 100]]), windowUpdate(0, 1000), headers(1, grpcRequestBlock('/a.B/C'))]), 16384), 3);
  assert.equal(frameChainAt(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), 16384), 0);
  assert.equal(frameChainAt(Buffer.from('1603010200010001fc0303', 'hex'), 16384), 0);
  assert.equal(frameChainAt(Buffer.concat([data(1, 'x'), Buffer.from('garbage!!!')]), 16384), 0, 'the frame after the first is not plausible');
  assert.equal(frameChainAt(frame(0x0, 0x40, 1, 'x'), 16384), 0, 'undefined flag');
});

test('frames spanning reads: byte-at-a-time gives the same frames as one read', () => {
  const bytes = Buffer.concat([settings([[4, 65535]]), headers(1, grpcRequestBlock('/a.B/C')), data(1, 'hello', true), ping(), windowUpdate(1, 5)]);
  const whole = reader();
  feed(whole.r, bytes);
  const bytewise = reader();
  feed(bytewise.r, bytes, [1]);
  const view = (fs: Frame[]): unknown[] => fs.map((f) => [f.header, f.payload.toString('hex'), f.complete]);
  assert.equal(whole.frames.length, 5);
  assert.deepEqual(view(bytewise.frames), view(whole.frames));
  assert.deepEqual(bytewise.counters, whole.counters);
  assert.equal(bytewise.frames[1]!.firstByteNs, 150n, 'HEADERS starts at byte 15 (after a 15-byte SETTINGS): the 16th call, at its entry (egress)');
});

test('the client preface is consumed, even split across calls, and proves the start was seen', () => {
  const { r, frames } = reader(true);
  feed(r, Buffer.concat([CLIENT_PREFACE, settings()]), [5, 30]);
  assert.equal(r.prefaceSeen, true);
  assert.equal(r.startedAtFirstByte, true);
  assert.deepEqual(frames.map((f) => f.header.type), [0x4]);
});

test('no preface on the client side: joined mid-stream, frames still read from a call boundary', () => {
  const { r, frames } = reader(true);
  feed(r, Buffer.concat([data(3, 'abc'), windowUpdate(0, 9)]));
  assert.equal(r.prefaceSeen, false);
  assert.deepEqual(frames.map((f) => f.header.type), [0x0, 0x8]);
});

test('DATA payload beyond the capture prefix: framing survives, the frame is marked incomplete', () => {
  const big = data(1, Buffer.alloc(3000, 1));
  const { r, frames, lost } = reader();
  feed(r, Buffer.concat([big, data(1, 'tail', true)]), [big.length, 13], 100);
  assert.deepEqual(frames.map((f) => [f.header.length, f.complete]), [[3000, false], [4, true]]);
  assert.deepEqual(lost, []);
});

test('a gap over a frame header loses sync; the next call that starts with real frames resynchronises', () => {
  const { r, frames, lost, counters } = reader();
  let pos = 0n;
  const send = (b: Buffer, gap = 0): void => {
    pos += BigInt(gap);
    r.push({ payload: b, bytes: b.length, streamPos: pos, tsEnterNs: 0n, tsExitNs: 0n });
    pos += BigInt(b.length);
  };
  send(data(1, 'a'));
  send(data(1, 'b'), 30); // 30 bytes lost before this call: a whole frame
  assert.deepEqual(lost, [1]);
  send(Buffer.from('zzzzzzzzzzzzzzzzzzzzzz')); // read as a frame header: an impossible length
  assert.deepEqual(lost, [1, 2]);
  send(Buffer.from('more junk, not frames'));
  send(Buffer.concat([data(3, 'c'), ping()]));
  assert.deepEqual(frames.map((f) => f.header.streamId), [1, 1, 3, 0], 'the call after the gap starts with a frame: synchronised at once');
  assert.equal(counters.gaps, 1);
  assert.equal(counters.lostSync, 2);
  assert.equal(counters.resyncs, 2);
  assert.equal(counters.malformedFrames, 1);
  assert.equal(counters.resyncSkippedBytes, 13 + 21);
});

test('connection: padding in DATA and HEADERS (with priority) is excluded from sizes and the block', () => {
  const h = new H2Harness('client').open();
  const hb = grpcRequestBlock('/p.S/M');
  const padded = Buffer.concat([Buffer.from([4]), Buffer.alloc(5, 0), hb, Buffer.alloc(4, 0)]); // pad length, priority, block, padding
  h.client(frame(0x1, END_HEADERS | PADDED | PRIORITY, 1, padded));
  h.client(frame(0x0, END_STREAM | PADDED, 1, Buffer.concat([Buffer.from([3]), Buffer.from('body'), Buffer.alloc(3)])));
  h.server(headers(1, block(rep.indexed(8)), END_HEADERS | END_STREAM));
  assert.equal(h.exchanges.length, 1);
  const ex = h.exchanges[0]!;
  assert.equal(header(ex.request.headers, ':path'), '/p.S/M');
  assert.equal(ex.request.bodyBytes, 4);
  assert.equal(ex.request.headerBytes + ex.request.bodyBytes, 9 + padded.length + 9 + 8, 'all wire bytes of the stream accounted');
  assert.equal(h.counters().malformedFrames, 0);
});

test('connection: CONTINUATION frames complete a header block split anywhere', () => {
  const h = new H2Harness('client').open();
  const hb = grpcRequestBlock('/p.S/Method', [['traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01']]);
  h.client(headers(1, hb.subarray(0, 7), END_STREAM));
  h.client(continuation(1, hb.subarray(7, 30), false));
  h.client(continuation(1, hb.subarray(30)));
  h.server(headers(1, block(rep.indexed(8)), END_HEADERS | END_STREAM));
  assert.equal(h.exchanges.length, 1);
  assert.equal(header(h.exchanges[0]!.request.headers, 'traceparent'), '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  assert.equal(h.exchanges[0]!.request.ended, true, 'END_STREAM on the HEADERS frame counts once the block ends');
});

test('connection: a frame between HEADERS and its CONTINUATION is a protocol error; the block is dropped and HPACK desynchronised', () => {
  const h = new H2Harness('client').open();
  const hb = grpcRequestBlock('/p.S/M');
  h.client(headers(1, hb.subarray(0, 5), 0));
  h.client(ping());
  h.client(continuation(1, hb.subarray(5)));
  const c = h.counters();
  assert.equal(c.malformedFrames, 2, 'the interloper, then a CONTINUATION with no block');
  h.client(headers(3, block(rep.indexed(3), rep.indexed(62)), END_HEADERS | END_STREAM));
  h.server(headers(3, block(rep.indexed(8)), END_HEADERS | END_STREAM));
  const ex = h.exchanges.find((e) => e.streamId === 3)!;
  assert.deepEqual(ex.request.headers, [[':method', 'POST']], 'the dynamic reference is unknown, not guessed');
  assert.equal(ex.request.unknownFields, 1);
});

test('connection: malformed frames are counted and never throw', () => {
  const h = new H2Harness('client').open();
  h.client(frame(0x0, PADDED, 1, Buffer.from([9, 1, 2]))); // padding longer than the frame
  h.client(frame(0x3, 0, 1, Buffer.alloc(3))); // RST_STREAM of 3 bytes
  h.client(frame(0x4, 0, 0, Buffer.alloc(5))); // SETTINGS of 5 bytes
  h.client(frame(0x9, END_HEADERS, 5, Buffer.from([0x82]))); // stray CONTINUATION
  h.client(frame(0x1, END_HEADERS | PADDED, 7, Buffer.from([200, 0x82]))); // HEADERS padding too long
  h.client(rstStream(0 + 9, 8));
  const c = h.counters();
  assert.equal(c.malformedFrames, 5);
  assert.equal(c.internalErrors, 0);
});

test('frames found again after a loss: the direction still counts as read from its first byte, and the loss says whether it cut a header block', () => {
  const frames: Frame[] = [];
  const cuts: boolean[] = [];
  const r = new FrameReader({ direction: 'ingress', clientToServer: false, counters: emptyCounters(), onFrame: (f) => frames.push(f), onLostSync: (cut) => cuts.push(cut) });
  let pos = 0n;
  const call = (b: Buffer, capture = b.length): void => {
    r.push({ payload: b.subarray(0, capture), bytes: b.length, streamPos: pos, tsEnterNs: pos, tsExitNs: pos + 1n });
    pos += BigInt(b.length);
  };
  call(settings());
  assert.equal(r.startedAtFirstByte, true);
  // Two DATA frames in one call, cut inside the first: the second frame's header is lost.
  call(Buffer.concat([data(1, Buffer.alloc(100)), data(1, Buffer.alloc(100))]), 50);
  call(headers(1, rep.indexed(8), END_HEADERS | END_STREAM));
  assert.deepEqual(cuts, [false], 'the loss began inside DATA');
  assert.equal(r.startedAtFirstByte, true, 'a resynchronisation is not where the direction began');
  assert.deepEqual(frames.map((f) => f.header.type), [0x4, 0x1], 'the cut DATA frame is dropped, the HEADERS after the loss read');
  // Now a loss inside a HEADERS frame.
  call(Buffer.concat([headers(3, Buffer.alloc(100, 0x82)), data(3, Buffer.alloc(10))]), 50);
  assert.deepEqual(cuts, [false, true]);
});
