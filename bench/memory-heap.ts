/**
 * `node --expose-gc --import tsx bench/memory-heap.ts [--cases 10000x2,10000x1] [--rounds N] [--snapshot DIR]`
 *
 * Where an agent's memory per open connection goes, in process: the same
 * loader records as bench/memory.ts (memory/stream.ts), cut into 64 KiB
 * reads as the capture pipe delivers them, through the real FrameDecoder and
 * IngestPipeline (tracker, protocol parsers, span building; spans are
 * discarded, so no store). After a full GC with every connection still
 * open: JS heap and Buffer memory per tracked socket, and with --snapshot a
 * heap snapshot grouped by what holds the bytes. bench/memory.ts measures
 * the whole agent's RSS; this says which part of it the sockets are.
 *
 * The agent's code is loaded from the built dist (`npx tsc -p
 * backend-agent/tsconfig.json`), as the agent runs it: tsx's transform
 * gives every closure a name property, which alone adds ~250 bytes to each.
 */
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { encode } from '../backend-agent/src/capture/framing.js';
import { fmtNum, markdownTable } from './lib/stats.js';
import { summarizeSnapshot } from './memory/heap-summary.js';
import { benchConnection, openEvents, roundEvents, type BenchConnection } from './memory/stream.js';
import { optionReader } from './lib/cli.js';

const args = process.argv.slice(2);
const value = optionReader(args);
const cases = (value('--cases') ?? '10000x2,10000x1').split(',').map((c) => {
  const [n, sides] = c.split('x').map(Number);
  return { connections: n!, sides: sides === 1 ? 1 : 2 };
});
const rounds = Number(value('--rounds') ?? 2);
const snapshotDir = value('--snapshot');
const READ_BYTES = 64 * 1024;
const CLIENT = { pid: process.pid, comm: 'memclient' };
const SERVER = { pid: process.ppid, comm: 'memserver' };

const dist = path.join(import.meta.dirname, '..', 'backend-agent', 'dist');
const { FrameDecoder } = (await import(path.join(dist, 'capture', 'framing.js'))) as typeof import('../backend-agent/src/capture/framing.js');
const { IngestPipeline } = (await import(path.join(dist, 'pipeline.js'))) as typeof import('../backend-agent/src/pipeline.js');
const { createLogger } = (await import(path.join(dist, 'util', 'log.js'))) as typeof import('../backend-agent/src/util/log.js');

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with node --expose-gc');
  process.exit(2);
}

interface HeapResult {
  connections: number;
  sides: number;
  trackedSockets: number;
  evictedSockets: number;
  exchanges: number;
  heapBytesPerSocket: number;
  bufferBytesPerSocket: number;
  heapUsedMiB: number;
  arrayBuffersMiB: number;
}

function settle(): NodeJS.MemoryUsage {
  for (let i = 0; i < 3; i++) gc!();
  return process.memoryUsage();
}

function runOne(connections: number, sides: number): HeapResult {
  let spans = 0;
  const pipeline = new IngestPipeline({ hostName: 'bench', log: createLogger('error', () => {}), sink: (s) => void (spans += s.length) });
  const decoder = new FrameDecoder();
  // Fresh buffers per read, as the pipe gives them: a retained slice keeps its own read alive, not the whole stream.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const feed = (records: Buffer[], force = false): void => {
    for (const r of records) {
      pending.push(r);
      pendingBytes += r.length;
    }
    while (pendingBytes >= READ_BYTES || (force && pendingBytes > 0)) {
      const all = Buffer.concat(pending);
      const n = Math.min(READ_BYTES, all.length);
      const read = Buffer.from(all.subarray(0, n));
      pending = n < all.length ? [Buffer.from(all.subarray(n))] : [];
      pendingBytes = all.length - n;
      pipeline.handle(decoder.push(read));
    }
  };
  const before = settle();
  // Kernel time 1 s at the start, as in memory.ts: tick() then sees the connections as recently active.
  feed([encode.preamble(), encode.hello({ realtimeOffsetNs: BigInt(Date.now()) * 1_000_000n - 1_000_000_000n, loaderPid: 1, maxPayload: 4096, ncpus: 2, kernelRelease: 'synthetic' })]);
  const conns: BenchConnection[] = [];
  let t = 1_000_000_000n;
  for (let i = 0; i < connections; i++) {
    const conn = benchConnection(i);
    conns.push(conn);
    feed(openEvents((t += 1000n), conn, sides, CLIENT, SERVER));
  }
  const pos = new Map<bigint, bigint>();
  for (let r = 0; r < rounds; r++) for (const conn of conns) feed(roundEvents((t += 100_000n), pos, conn, sides, CLIENT, SERVER));
  feed([], true);
  // The agent's once-a-second housekeeping, which idle connections have been through.
  pipeline.tick();
  conns.length = 0;
  pos.clear();
  const after = settle();
  const health = pipeline.health();
  const sockets = health.openConnections;
  const result: HeapResult = {
    connections,
    sides,
    trackedSockets: sockets,
    evictedSockets: health.connectionsEvicted ?? 0,
    exchanges: spans,
    heapBytesPerSocket: (after.heapUsed - before.heapUsed) / sockets,
    bufferBytesPerSocket: (after.arrayBuffers - before.arrayBuffers) / sockets,
    heapUsedMiB: after.heapUsed / 2 ** 20,
    arrayBuffersMiB: after.arrayBuffers / 2 ** 20,
  };
  if (snapshotDir) {
    fs.mkdirSync(snapshotDir, { recursive: true });
    const file = v8.writeHeapSnapshot(path.join(snapshotDir, `sockets-${connections}x${sides}.heapsnapshot`));
    console.log(`\n${connections}x${sides}: ${file}; largest groups (self size):`);
    console.log(
      markdownTable(
        ['type', 'name', 'count', 'self MiB', 'bytes per socket'],
        summarizeSnapshot(file).map((g) => [g.type, g.name, fmtNum(g.count), fmtNum(g.selfBytes / 2 ** 20, 1), fmtNum(g.selfBytes / sockets)]),
      ),
    );
  }
  // Keeps the pipeline (and every tracked connection) alive until measured.
  if (pipeline.health().openConnections !== sockets) throw new Error('connections changed while measuring');
  return result;
}

console.log(`\nPer-socket memory in process (decoder + pipeline, no store; ${rounds} request(s) per connection; after full GC)`);
const results = cases.map((c) => runOne(c.connections, c.sides));
console.log(
  markdownTable(
    ['connections', 'ends on this host', 'tracked sockets', 'evicted', 'exchanges', 'JS heap B/socket', 'Buffers B/socket', 'heap used (MiB)', 'array buffers (MiB)'],
    results.map((r) => [fmtNum(r.connections), r.sides === 2 ? 'both' : 'server only', fmtNum(r.trackedSockets), fmtNum(r.evictedSockets), fmtNum(r.exchanges), fmtNum(r.heapBytesPerSocket), fmtNum(r.bufferBytesPerSocket), fmtNum(r.heapUsedMiB, 1), fmtNum(r.arrayBuffersMiB, 1)]),
  ),
);
console.log(`MEMORY_HEAP_JSON ${JSON.stringify({ rounds, results })}`);
