/**
 * Garbage in, no exception out: property tests with fast-check over the
 * public entry points. The connection catches at its API boundary and counts
 * what it caught in internalErrors, so the properties check that counter
 * stays 0 (nothing was thrown inside), not merely that nothing escaped.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { HpackDecoder, Http2Connection, decodeHuffman, looksLikeHttp2, CLIENT_PREFACE } from '../../../../backend-agent/src/protocols/http2/index.js';
import { loadCapture } from './fixtures/corpus.js';
import { frame } from './helpers.js';

const bytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

interface Call {
  clientToServer: boolean;
  payload: Buffer;
  /** Extra bytes the call moved beyond the capture. */
  uncaptured: number;
  /** Bytes lost before the call. */
  gap: number;
}

function run(role: 'client' | 'server', calls: Call[], close: boolean): Http2Connection {
  const conn = new Http2Connection({ role, onExchange: () => undefined, maxStreams: 16 });
  const pos = { egress: 0n, ingress: 0n };
  let t = 0n;
  for (const c of calls) {
    const direction = c.clientToServer === (role === 'client') ? 'egress' : 'ingress';
    pos[direction] += BigInt(c.gap);
    conn.onData({ direction, payload: c.payload, bytes: c.payload.length + c.uncaptured, streamPos: pos[direction], tsEnterNs: t, tsExitNs: t + 1n });
    pos[direction] += BigInt(c.payload.length + c.uncaptured);
    t += 10n;
  }
  conn.flush(t, 5n);
  if (close) conn.onClose(t);
  return conn;
}

const call = (payload: fc.Arbitrary<Buffer>): fc.Arbitrary<Call> =>
  fc.record({ clientToServer: fc.boolean(), payload, uncaptured: fc.oneof(fc.constant(0), fc.nat(5000)), gap: fc.oneof(fc.constant(0), fc.constant(0), fc.nat(100)) });

/** Frames with plausible headers around random payloads: reaches far deeper than raw noise. */
const frameish: fc.Arbitrary<Buffer> = fc
  .array(fc.record({ type: fc.nat(11), flags: fc.constantFrom(0, 1, 4, 5, 8, 0x24, 0x2d, 0xff), stream: fc.constantFrom(0, 1, 2, 3, 5, 0x7fffffff), payload: bytes(40) }), { maxLength: 8 })
  .map((fs) => Buffer.concat(fs.map((f) => frame(f.type, f.flags, f.stream, f.payload))));

test('random bytes in random calls, both directions, both roles: nothing thrown inside', () => {
  fc.assert(
    fc.property(fc.constantFrom('client' as const, 'server' as const), fc.array(call(bytes(300)), { maxLength: 20 }), fc.boolean(), (role, calls, close) => {
      assert.equal(run(role, calls, close).snapshot().internalErrors, 0);
    }),
    { numRuns: 300 },
  );
});

test('plausible frames with random payloads, after the preface: nothing thrown inside', () => {
  fc.assert(
    fc.property(fc.constantFrom('client' as const, 'server' as const), fc.array(call(frameish), { maxLength: 16 }), fc.boolean(), (role, calls, close) => {
      const withPreface: Call[] = [{ clientToServer: true, payload: CLIENT_PREFACE, uncaptured: 0, gap: 0 }, ...calls];
      const conn = run(role, withPreface, close);
      assert.equal(conn.snapshot().internalErrors, 0);
    }),
    { numRuns: 400 },
  );
});

test('the real corpus with random bytes flipped: nothing thrown inside', () => {
  const cap = loadCapture('grpc-js.json');
  const chunks = cap.chunks.map((c) => ({ clientToServer: c.dir === 'c2s', payload: Buffer.from(c.b64, 'base64') }));
  fc.assert(
    fc.property(fc.array(fc.record({ chunk: fc.nat(chunks.length - 1), at: fc.nat(10_000), value: fc.nat(255) }), { minLength: 1, maxLength: 6 }), (flips) => {
      const calls = chunks.map((c) => ({ ...c, payload: Buffer.from(c.payload), uncaptured: 0, gap: 0 }));
      for (const f of flips) {
        const target = calls[f.chunk]!.payload;
        target[f.at % target.length] = f.value;
      }
      assert.equal(run('client', calls, true).snapshot().internalErrors, 0);
    }),
    { numRuns: 300 },
  );
});

test('HPACK decoding of arbitrary bytes never throws, synchronised or not, complete or cut', () => {
  fc.assert(
    fc.property(bytes(200), fc.boolean(), fc.boolean(), (block, synced, complete) => {
      const d = new HpackDecoder({ synced });
      const r = d.decode(block, complete);
      assert.ok(Array.isArray(r.fields));
      d.decode(block, true);
    }),
    { numRuns: 2000 },
  );
});

test('Huffman decoding and detection of arbitrary bytes never throw', () => {
  fc.assert(
    fc.property(bytes(64), (b) => {
      const s = decodeHuffman(b, 0, b.length);
      assert.ok(s === undefined || typeof s === 'string');
      const kind = looksLikeHttp2(b);
      assert.ok(kind === undefined || kind === 'request' || kind === 'response');
    }),
    { numRuns: 3000 },
  );
});
