/**
 * The structures that could grow without bound under a burst are bounded and
 * counted:
 * - the connection tracker: connections whose close event the kernel dropped
 *   used to stay for 10 minutes (the idle timeout); at most maxConnections are
 *   kept, the least recently active are forgotten first and counted, and their
 *   pending requests are still reported (without response);
 * - the span writer's queue while the store refuses writes (MAX_PENDING,
 *   dropped oldest first, counted as backpressure drops).
 * Memory is measured with a forced GC, so garbage does not hide growth.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import v8 from 'node:v8';
import vm from 'node:vm';
import { ConnectionTracker, DEFAULT_MAX_CONNECTIONS } from '../../backend-agent/src/capture/connection-tracker.js';
import { http1Detector } from '../../backend-agent/src/protocols/http1/session.js';
import type { DataEvent, Direction } from '../../backend-agent/src/model/events.js';
import { SpanWriter, type SpanSink } from '../../backend-agent/src/spans/span-writer.js';
import { createLogger } from '../../backend-agent/src/util/log.js';
import { makeSpan } from '../backend-agent/fixtures/spans.js';
import type { Span } from '../../backend-agent/src/model/span.js';

function gcFunction(): () => void {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
}

let clock = 1_000_000n;
/** One server-side data event of connection `id`: a request (ingress) or its response (egress). */
function data(id: number, direction: Direction, text: string, streamPos: bigint): DataEvent {
  const payload = Buffer.from(text, 'latin1');
  clock += 1000n;
  return {
    type: 'data',
    tsEnterNs: clock,
    tsExitNs: clock,
    connId: BigInt(id),
    cgroupId: 0n,
    streamPos,
    bytes: payload.length,
    pid: 4242,
    tid: 4242,
    fd: 3,
    direction,
    role: 'server',
    syscall: direction === 'ingress' ? 'read' : 'write',
    truncated: false,
    socket: { family: 'ipv4', local: { address: '127.0.0.1', port: 8080 }, remote: { address: '127.0.0.1', port: 10_000 + (id % 50_000) } },
    comm: 'server',
    payload,
  } as DataEvent;
}

const REQUEST = 'GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\n';
const RESPONSE = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

test('the connection tracker keeps at most maxConnections, forgets the least recently active first, and counts it', () => {
  const cap = 64;
  const t = new ConnectionTracker([http1Detector], cap);
  // Connection 1 stays busy; 2..300 each get one exchange and no close event (lost).
  t.onData(data(1, 'ingress', REQUEST, 0n));
  t.onData(data(1, 'egress', RESPONSE, 0n));
  for (let id = 2; id <= 300; id++) {
    t.onData(data(id, 'ingress', REQUEST, 0n));
    t.onData(data(id, 'egress', RESPONSE, 0n));
    // Every 20 connections, connection 1 is active again.
    if (id % 20 === 0) t.onData(data(1, 'ingress', REQUEST, BigInt(REQUEST.length * (id / 20))));
    assert.ok(t.openConnections <= cap, `${t.openConnections} tracked with a cap of ${cap}`);
  }
  assert.ok(t.has(1n), 'the connection active all along was kept');
  assert.equal(t.openConnections + t.evictedConnections, 300, 'every connection is either tracked or counted as evicted');
  assert.ok(t.evictedConnections >= 300 - cap);
  // Connection 1's later requests are still pending (kept, not evicted); the 300 answered exchanges all came out.
  const exchanges = t.drain();
  assert.equal(exchanges.filter((e) => e.response).length, 300, 'every answered exchange came out once');
});

test('a pending request on an evicted connection is reported without response, not lost', () => {
  const t = new ConnectionTracker([http1Detector], 8);
  t.onData(data(1, 'ingress', REQUEST, 0n)); // never answered, never closed
  for (let id = 2; id <= 20; id++) t.onData(data(id, 'ingress', REQUEST, 0n));
  assert.ok(!t.has(1n));
  const unanswered = t.drain().filter((e) => e.connection.connId === 1n);
  assert.equal(unanswered.length, 1);
  assert.equal(unanswered[0]!.response, undefined);
});

test('memory: 20,000 connections that never close stay within the cap (heap does not grow with them)', () => {
  const gc = gcFunction();
  const cap = 1024;
  const t = new ConnectionTracker([http1Detector], cap);
  let id = 0;
  const round = (n: number): number => {
    for (let k = 0; k < n; k++) {
      id++;
      t.onData(data(id, 'ingress', REQUEST, 0n));
      t.onData(data(id, 'egress', RESPONSE, 0n));
      if (id % 200 === 0) {
        // The agent ticks once a second: 200 new connections a second here.
        clock += 1_000_000_000n;
        t.tick(clock);
        t.drain();
      }
    }
    t.drain();
    gc();
    const m = process.memoryUsage();
    return (m.heapUsed + m.arrayBuffers) / 1048576;
  };
  const full = round(cap * 2); // the tracker is full from here on
  const later = [round(4000), round(4000), round(4000), round(4000), round(4000)];
  assert.ok(t.openConnections <= cap);
  assert.equal(t.openConnections + t.evictedConnections, id);
  // Heap readings move by a few MiB between rounds (buffer pool slabs); without the
  // cap the 20,000 extra connections would hold ~33 MiB (about 1.7 KB each, bench/memory-heap.ts).
  const grownMiB = Math.max(...later) - full;
  assert.ok(grownMiB < 16, `heap grew ${grownMiB.toFixed(1)} MiB over 20,000 more connections: ${[full, ...later].map((m) => m.toFixed(1)).join(', ')} MiB`);
  console.log(`tracker memory (heap + buffers, MiB) full: ${full.toFixed(1)}, then every 4,000 more connections: ${later.map((m) => m.toFixed(1)).join(', ')}; ${t.evictedConnections} evicted; default cap ${DEFAULT_MAX_CONNECTIONS}`);
});

test('the span writer queue is bounded while the store refuses writes, and every dropped span is counted', () => {
  const refusing: SpanSink = {
    insertSpans(): void {
      throw new Error('database or disk is full (SQLITE_FULL)');
    },
  };
  const w = new SpanWriter(refusing, createLogger('error', () => undefined));
  const batch: Span[] = Array.from({ length: 1000 }, () => makeSpan());
  for (let i = 0; i < 80; i++) w.add(batch); // 80,000 spans offered
  assert.equal(w.pendingCount + w.dropped, 80_000, 'kept + dropped = offered');
  assert.ok(w.pendingCount <= 50_000, `${w.pendingCount} spans held`);
  assert.equal(w.written, 0);
});
