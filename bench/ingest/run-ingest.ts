/**
 * Ingest throughput, in process: the real FrameDecoder, IngestPipeline
 * (connection tracker, HTTP/1 parser, span builder with context extraction
 * and redaction), SpanWriter and SQLite store, fed a synthetic loader stream.
 *
 * Three stages are timed separately so a slowdown points at its layer:
 *   decode    - framing only
 *   pipeline  - decode + tracking + parsing + span building (spans discarded)
 *   store     - everything the agent does, down to committed SQLite rows
 * Rates are given per wall second and per CPU second of this process: the
 * latter is "per core" and holds even when other work shares the machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FrameDecoder } from '../../backend-agent/src/capture/framing.js';
import { IngestPipeline } from '../../backend-agent/src/pipeline.js';
import { SpanWriter } from '../../backend-agent/src/spans/span-writer.js';
import { openStore } from '../../backend-agent/src/store/index.js';
import { createLogger } from '../../backend-agent/src/util/log.js';
import { summarize, type Summary } from '../lib/stats.js';
import { buildStream, type SyntheticStream } from './synthetic-stream.js';

export type Stage = 'decode' | 'pipeline' | 'store';
export const STAGES: Stage[] = ['decode', 'pipeline', 'store'];

export interface IngestOptions {
  requests: number;
  connections: number;
  repeats: number;
  /** Bytes per push into the decoder; the loader pipe delivers up to 64 KiB. */
  chunkBytes?: number;
  stages?: Stage[];
}

export interface StageResult {
  stage: Stage;
  /** Exchanges (spans) per wall-clock second. */
  exchangesPerSec: Summary;
  /** Exchanges per second of CPU time used by this process: the per-core rate. */
  exchangesPerCpuSec: Summary;
  /** Loader events per wall-clock second. */
  eventsPerSec: Summary;
  exchangesOut: number;
  /** Exchanges the stream should have produced but did not (must be 0). */
  lost: number;
  spansStored?: number;
}

export interface IngestResult {
  requests: number;
  connections: number;
  streamBytes: number;
  events: number;
  expectedExchanges: number;
  stages: StageResult[];
}

const quiet = createLogger('error', () => {});

interface RunOutcome {
  wallSec: number;
  cpuSec: number;
  events: number;
  exchanges: number;
  spansStored?: number;
}

function chunks(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; at += size) out.push(buf.subarray(at, Math.min(buf.length, at + size)));
  return out;
}

function timed(fn: () => Omit<RunOutcome, 'wallSec' | 'cpuSec'>): RunOutcome {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = fn();
  const wallSec = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { ...r, wallSec, cpuSec: (cpu.user + cpu.system) / 1e6 };
}

function runOnce(stage: Stage, pieces: Buffer[], dir: string, run: number): RunOutcome {
  if (stage === 'decode') {
    return timed(() => {
      const dec = new FrameDecoder();
      let events = 0;
      for (const p of pieces) events += dec.push(p).length;
      return { events, exchanges: 0 };
    });
  }
  let stored = 0;
  let store: ReturnType<typeof openStore> | undefined;
  let writer: SpanWriter | undefined;
  let discarded = 0;
  if (stage === 'store') {
    store = openStore({ path: path.join(dir, `ingest-${run}.db`), retention: { maxAgeMs: 24 * 3600_000, maxSizeBytes: 8 * 1024 ** 3 } });
    writer = new SpanWriter(store, quiet);
  }
  const sink = writer ? (spans: Parameters<SpanWriter['add']>[0]) => writer!.add(spans) : (spans: unknown[]) => void (discarded += spans.length);
  const pipeline = new IngestPipeline({ hostName: 'bench', log: quiet, sink });
  const r = timed(() => {
    const dec = new FrameDecoder();
    let events = 0;
    for (const p of pieces) {
      const evs = dec.push(p);
      events += evs.length;
      pipeline.handle(evs);
    }
    pipeline.flushAll();
    writer?.flush();
    return { events, exchanges: pipeline.health().exchanges };
  });
  if (store) {
    stored = store.stats().spanCount;
    store.close();
  }
  return { ...r, ...(stage === 'store' ? { spansStored: stored } : {}) };
}

export function runIngest(opts: IngestOptions): IngestResult {
  const stream: SyntheticStream = buildStream({ requests: opts.requests, connections: opts.connections });
  const pieces = chunks(stream.bytes, opts.chunkBytes ?? 64 * 1024);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-bench-ingest-'));
  const stages: StageResult[] = [];
  let events = 0;
  try {
    for (const stage of opts.stages ?? STAGES) {
      const runs: RunOutcome[] = [];
      // One untimed warm-up so the JIT has compiled the hot path.
      runOnce(stage, pieces, dir, -1);
      for (let i = 0; i < opts.repeats; i++) runs.push(runOnce(stage, pieces, dir, i));
      events = runs[0]!.events;
      const counted = stage === 'decode' ? stream.expectedExchanges : runs[0]!.exchanges;
      const last = runs[runs.length - 1]!;
      stages.push({
        stage,
        exchangesPerSec: summarize(runs.map((r) => stream.expectedExchanges / r.wallSec)),
        exchangesPerCpuSec: summarize(runs.map((r) => stream.expectedExchanges / r.cpuSec)),
        eventsPerSec: summarize(runs.map((r) => r.events / r.wallSec)),
        exchangesOut: counted,
        lost: stream.expectedExchanges - counted,
        ...(last.spansStored !== undefined ? { spansStored: last.spansStored } : {}),
      });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return {
    requests: stream.requests,
    connections: opts.connections,
    streamBytes: stream.bytes.length,
    events,
    expectedExchanges: stream.expectedExchanges,
    stages,
  };
}
