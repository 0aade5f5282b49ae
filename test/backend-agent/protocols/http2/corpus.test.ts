/**
 * The recorded corpus (fixtures/record.ts): real node http2 and grpc-js
 * bytes, as each side's reads delivered them, replayed as the client and as
 * the server would see them; then re-cut, cut short by a capture limit, and
 * joined late, where whatever is reported must still be true.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Http2Connection, grpcCall, type Http2Exchange } from '../../../../backend-agent/src/protocols/http2/index.js';
import { loadCapture, type RecordedCapture } from './fixtures/corpus.js';
import { seededRandom } from '../http1/helpers.js';
import { header } from './helpers.js';
import type { GrpcCallResult, H2CallResult } from '../../../integration/helpers.js';

interface Replay {
  exchanges: Http2Exchange[];
  connection: Http2Connection;
}

interface ReplayOptions {
  /** Re-cut each direction's bytes into calls of random sizes. */
  recut?: () => number;
  /** Captured prefix per call. */
  capture?: number;
  /** Drop this many of the first bytes of each direction (joined late). */
  skipBytes?: number;
}

function replay(cap: RecordedCapture, role: 'client' | 'server', options: ReplayOptions = {}): Replay {
  const exchanges: Http2Exchange[] = [];
  const connection = new Http2Connection({ role, onExchange: (e) => exchanges.push(e) });
  const pos = { c2s: 0, s2c: 0 };
  for (const ch of cap.chunks) {
    const bytes = Buffer.from(ch.b64, 'base64');
    const egress = (ch.dir === 'c2s') === (role === 'client');
    const ns = BigInt(ch.ns);
    const pieces: Buffer[] = [];
    if (options.recut) for (let at = 0; at < bytes.length; ) {
      const n = Math.max(1, options.recut());
      pieces.push(bytes.subarray(at, at + n));
      at += n;
    }
    else pieces.push(bytes);
    for (const piece of pieces) {
      const start = pos[ch.dir];
      pos[ch.dir] += piece.length;
      const skip = options.skipBytes ?? 0;
      if (start + piece.length <= skip) continue;
      const visible = start < skip ? piece.subarray(skip - start) : piece;
      const streamPos = BigInt(Math.max(start, skip));
      connection.onData({
        direction: egress ? 'egress' : 'ingress',
        payload: visible.subarray(0, options.capture ?? visible.length),
        bytes: visible.length,
        streamPos,
        tsEnterNs: ns,
        tsExitNs: ns + 1000n,
      });
    }
  }
  connection.onClose(10n ** 15n);
  return { exchanges, connection };
}


const GRPC = loadCapture('grpc-js.json');
const H2C = loadCapture('h2c-node.json');

test('grpc-js corpus: every call, its method, status and traceparent, from both sides', () => {
  const calls = GRPC.client as GrpcCallResult[];
  for (const role of ['client', 'server'] as const) {
    const { exchanges, connection } = replay(GRPC, role);
    assert.equal(exchanges.length, calls.length, role);
    for (const call of calls) {
      const ex = exchanges.find((e) => header(e.request.headers, 'traceparent') === `00-${call.traceId}-${call.spanId}-01`);
      assert.ok(ex, `${role}: call ${call.traceId}`);
      const rpc = grpcCall(ex);
      assert.equal(rpc?.service, 'wiretrace.test.Greeter');
      assert.equal(rpc?.method, call.method);
      assert.equal(rpc?.statusCode, call.code);
      assert.equal(ex.incomplete, undefined);
      assert.equal(ex.truncated, false);
      if (call.code !== 0) assert.equal(rpc?.statusMessage, 'no greeting for "ghost" (ünïcode ok)', 'trailers-only, percent-decoded');
    }
    const c = connection.snapshot();
    assert.equal(c.malformedFrames + c.hpackErrors + c.degradedHeaderBlocks + c.internalErrors + c.orphanStreams, 0, JSON.stringify(c));
  }
});

test('node http2 corpus: interleaved streams, methods, paths, statuses and body sizes, from both sides', () => {
  const calls = H2C.client as H2CallResult[];
  for (const role of ['client', 'server'] as const) {
    const { exchanges } = replay(H2C, role);
    assert.deepEqual(
      exchanges.map((e) => [header(e.request.headers, ':method'), header(e.request.headers, ':path'), e.response?.status, e.request.bodyBytes]).sort(),
      calls.map((c) => [c.method, c.path, c.status, c.bodyBytes]).sort(),
      role,
    );
    const echo = exchanges.find((e) => header(e.request.headers, ':path') === '/echo');
    assert.equal(echo?.response?.bodyBytes, 3000);
  }
});

/** What a replay says, without times (re-cutting moves them). */
function view(exchanges: Http2Exchange[]): unknown[] {
  return exchanges
    .map((e) => [e.streamId, e.request.headers, e.request.bodyBytes, e.request.headerBytes, e.response?.headers, e.response?.trailers, e.response?.bodyBytes, e.incomplete])
    .sort((a, b) => (a[0] as number) - (b[0] as number));
}

test('re-cut into random call sizes (frames and header blocks split anywhere): the same exchanges', () => {
  for (const cap of [GRPC, H2C]) {
    const expected = view(replay(cap, 'client').exchanges);
    for (let seed = 1; seed <= 20; seed++) {
      const random = seededRandom(seed);
      const got = replay(cap, 'client', { recut: () => 1 + Math.floor(random() * (seed % 3 === 0 ? 3 : 40)) });
      assert.deepEqual(view(got.exchanges), expected, `seed ${seed}`);
      assert.equal(got.connection.snapshot().internalErrors, 0);
    }
  }
});

/** Every (name, value) reported for a stream is one the real stream carried: degraded, never wrong. */
function assertTruthful(truth: Http2Exchange[], got: Http2Exchange[], what: string): void {
  for (const ex of got) {
    const real = truth.find((t) => t.streamId === ex.streamId);
    assert.ok(real, `${what}: stream ${ex.streamId} exists`);
    const pairs = (fs: ReadonlyArray<readonly [string, string]>): Set<string> => new Set(fs.map(([n, v]) => `${n}: ${v}`));
    const realReq = pairs(real.request.headers);
    for (const f of pairs(ex.request.headers)) assert.ok(realReq.has(f), `${what}: stream ${ex.streamId} request field ${f}`);
    if (ex.response) {
      const realRes = pairs([...(real.response?.headers ?? []), ...(real.response?.trailers ?? [])]);
      for (const f of pairs([...ex.response.headers, ...ex.response.trailers])) assert.ok(realRes.has(f), `${what}: stream ${ex.streamId} response field ${f}`);
      if (ex.response.status !== undefined) assert.equal(ex.response.status, real.response?.status);
    }
  }
}

test('capture prefix limits: whatever is reported is true, and what was lost is counted', () => {
  for (const cap of [GRPC, H2C]) {
    const truth = replay(cap, 'client').exchanges;
    for (const limit of [16, 64, 100, 200]) {
      const { exchanges, connection } = replay(cap, 'client', { capture: limit });
      assertTruthful(truth, exchanges, `capture ${limit}`);
      const c = connection.snapshot();
      assert.ok(c.uncapturedBytes > 0);
      assert.equal(c.internalErrors, 0);
    }
  }
});

test('joined late at every offset: whatever is reported is true; dynamic-table fields missing are counted', () => {
  for (const cap of [GRPC, H2C]) {
    const truth = replay(cap, 'client').exchanges;
    const total = cap.chunks.reduce((n, ch) => n + Buffer.from(ch.b64, 'base64').length, 0);
    let degraded = 0;
    let orphans = 0;
    let reported = 0;
    for (let skip = 1; skip < total; skip += 7) {
      const { exchanges, connection } = replay(cap, 'server', { skipBytes: skip });
      assertTruthful(truth, exchanges, `skip ${skip}`);
      const c = connection.snapshot();
      degraded += c.degradedHeaderBlocks;
      orphans += c.orphanStreams;
      reported += exchanges.length;
      assert.equal(c.internalErrors, 0);
    }
    assert.ok(orphans > 0, 'streams begun before the join are counted, not reported');
    if (cap === GRPC) {
      // Its calls are sequential, so some begin after any join.
      assert.ok(reported > 0, 'streams begun after the join are reported');
      // grpc-js reuses dynamic entries from call to call: joining between calls loses them.
      assert.ok(degraded > 0, 'late joins do lose dynamic-table fields, and say so');
    }
  }
});
