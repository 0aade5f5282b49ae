/**
 * Ingest throughput, in process: the real FrameDecoder, IngestPipeline
 * (connection tracker, HTTP/1 parser, span builder with context extraction
 * and redaction), SpanWriter and SQLite store, fed a synthetic loader stream.
 *
 * Stages are timed separately so a slowdown points at its layer:
 *   decode       - framing only
 *   pipeline     - decode + tracking + parsing + span building (spans discarded)
 *   store-fresh  - everything, into a new store file per run; the run's last
 *                  WAL checkpoint is measured apart and not in the rate (what
 *                  this bench measured as "store" before the warm stage)
 *   store-warm   - everything, into a store already holding `warmSpans` spans
 *                  with random ids, as a running agent's is, down to committed
 *                  rows and the WAL checkpointed into the database file: the
 *                  figure for the per-core ingest target
 * Rates are given per wall second and per CPU second of this process: the
 * latter is "per core" and holds even when other work shares the machine.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FrameDecoder } from '../../backend-agent/src/capture/framing.js';
import type { Span } from '../../backend-agent/src/model/span.js';
import { IngestPipeline } from '../../backend-agent/src/pipeline.js';
import { SpanWriter } from '../../backend-agent/src/spans/span-writer.js';
import { openStore, type SpanStore } from '../../backend-agent/src/store/index.js';
import { createLogger } from '../../backend-agent/src/util/log.js';
import { fmtNum, summarize, type Summary } from '../lib/stats.js';
import { buildStream, type SyntheticStream } from './synthetic-stream.js';
import { prefill, WalCheckpointer } from './warm-store.js';

export type Stage = 'decode' | 'pipeline' | 'store-fresh' | 'store-warm';
export const STAGES: Stage[] = ['decode', 'pipeline', 'store-fresh', 'store-warm'];

export interface IngestOptions {
  requests: number;
  connections: number;
  repeats: number;
  /** Spans stored (random ids) before store-warm measures. */
  warmSpans: number;
  /** Bytes per push into the decoder; the loader pipe delivers up to 64 KiB. */
  chunkBytes?: number;
  stages?: Stage[];
}

export interface StageResult {
  stage: Stage;
  /** What the stage covers, in words. */
  description: string;
  /** Exchanges (spans) per wall-clock second. */
  exchangesPerSec: Summary;
  /** Exchanges per second of CPU time used by this process: the per-core rate. */
  exchangesPerCpuSec: Summary;
  /** Loader events per wall-clock second. */
  eventsPerSec: Summary;
  exchangesOut: number;
  /** Exchanges the stream should have produced but that did not become spans (stored spans, for the store stages). Must be 0. */
  lost: number;
  /** Spans the last measured run added to its store. */
  spansStored?: number;
  /** Spans already in the store when each measured run began. */
  storeSpansBefore?: Summary;
  /** CPU µs per exchange of checkpointing the run's WAL frames into the database file. */
  checkpointCpuUsPerExchange?: Summary;
  /** Whether that checkpoint is inside the timed part (and so in the rates). */
  checkpointTimed?: boolean;
  /** Frames the WAL held when it was checkpointed (SQLite's own checkpoints may have copied some already). */
  walFrames?: Summary;
}

export interface IngestResult {
  requests: number;
  connections: number;
  streamBytes: number;
  events: number;
  expectedExchanges: number;
  /** Spans stored before store-warm's first run. */
  warmSpans: number;
  /** What storing them took (not in any rate). */
  warmPrefill?: { wallSec: number; cpuSec: number };
  stages: StageResult[];
}

const DESCRIPTIONS: Record<Stage, string> = {
  decode: 'framing only',
  pipeline: 'decode + tracking + parsing + span building, spans discarded',
  'store-fresh': 'all of it into a new store file per run; last WAL checkpoint measured apart, not in the rate',
  'store-warm': 'all of it into a store already holding spans with random ids, WAL checkpoint included',
};

// Seeds of the streams' random ids: the prefill, and every warm run, need ids no other stream has.
const SEED_MAIN = 1;
const SEED_PREFILL_SOURCE = 2;
const SEED_PREFILL_IDS = 3;
const SEED_WARM_RUN = 10;

const quiet = createLogger('error', () => {});

interface RunOutcome {
  wallSec: number;
  cpuSec: number;
  events: number;
  exchanges: number;
  spansBefore?: number;
  spansStored?: number;
  checkpointCpuSec?: number;
  walFrames?: number;
}

function chunks(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < buf.length; at += size) out.push(buf.subarray(at, Math.min(buf.length, at + size)));
  return out;
}

function cpuSecOf(fn: () => void): number {
  const cpu0 = process.cpuUsage();
  fn();
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / 1e6;
}

function timed(fn: () => Omit<RunOutcome, 'wallSec' | 'cpuSec'>): RunOutcome {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = fn();
  const wallSec = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { ...r, wallSec, cpuSec: (cpu.user + cpu.system) / 1e6 };
}

function runDecode(pieces: Buffer[]): RunOutcome {
  return timed(() => {
    const dec = new FrameDecoder();
    let events = 0;
    for (const p of pieces) events += dec.push(p).length;
    return { events, exchanges: 0 };
  });
}

function feed(pieces: Buffer[], pipeline: IngestPipeline): number {
  const dec = new FrameDecoder();
  let events = 0;
  for (const p of pieces) {
    const evs = dec.push(p);
    events += evs.length;
    pipeline.handle(evs);
  }
  pipeline.flushAll();
  return events;
}

function runPipeline(pieces: Buffer[]): RunOutcome {
  const pipeline = new IngestPipeline({ hostName: 'bench', log: quiet, sink: () => {} });
  return timed(() => ({ events: feed(pieces, pipeline), exchanges: pipeline.health().exchanges }));
}

interface OpenStore {
  store: SpanStore;
  wal: WalCheckpointer;
  close(): void;
}

function open(file: string): OpenStore {
  const store = openStore({ path: file, retention: { maxAgeMs: 24 * 3600_000, maxSizeBytes: 64 * 1024 ** 3 } });
  const wal = new WalCheckpointer(file);
  return {
    store,
    wal,
    close: () => {
      wal.close();
      store.close();
    },
  };
}

/** Decode, pipeline, writer, committed rows; the WAL checkpoint inside the timed part or right after it. */
function runIntoStore(pieces: Buffer[], target: OpenStore, checkpointTimed: boolean): RunOutcome {
  const { store, wal } = target;
  const spansBefore = store.stats().spanCount;
  const writer = new SpanWriter(store, quiet);
  const pipeline = new IngestPipeline({ hostName: 'bench', log: quiet, sink: (spans) => writer.add(spans) });
  let checkpointCpuSec = 0;
  let walFrames = 0;
  const checkpoint = (): void => void (checkpointCpuSec = cpuSecOf(() => void (walFrames = wal.checkpoint())));
  const r = timed(() => {
    const events = feed(pieces, pipeline);
    writer.flush();
    if (checkpointTimed) checkpoint();
    return { events, exchanges: pipeline.health().exchanges };
  });
  if (!checkpointTimed) checkpoint();
  if (writer.writeError) throw new Error(`store write failed: ${writer.writeError}`);
  return { ...r, spansBefore, spansStored: store.stats().spanCount - spansBefore, checkpointCpuSec, walFrames };
}

/** The spans the real pipeline makes from a stream. */
function spansOf(stream: SyntheticStream): Span[] {
  const spans: Span[] = [];
  const pipeline = new IngestPipeline({ hostName: 'bench', log: quiet, sink: (batch) => void spans.push(...batch) });
  feed([stream.bytes], pipeline);
  return spans;
}

/** One untimed warm-up run (run -1) so the JIT has compiled the hot path, then `repeats` measured ones. */
function measure(repeats: number, run: (i: number) => RunOutcome): RunOutcome[] {
  run(-1);
  const runs: RunOutcome[] = [];
  for (let i = 0; i < repeats; i++) runs.push(run(i));
  return runs;
}

function freshRuns(pieces: Buffer[], dir: string, repeats: number): RunOutcome[] {
  return measure(repeats, (i) => {
    const target = open(path.join(dir, `fresh-${i}.db`));
    try {
      return runIntoStore(pieces, target, false);
    } finally {
      target.close();
    }
  });
}

/**
 * One store per bench run: prefilled once (not timed), then every run
 * ingests a stream of its own (other random ids, later times) on top, so
 * nothing is replaced and the store only grows, as an agent's does until
 * retention starts deleting.
 */
function warmRuns(opts: IngestOptions, dir: string, streamDurationUs: number, onPrefilled: (cost: { wallSec: number; cpuSec: number }) => void): RunOutcome[] {
  const shape = { requests: opts.requests, connections: opts.connections };
  const strideMs = Math.ceil(streamDurationUs / 1000) + 1000;
  // Everything lies in the past, the prefill before the runs, each run after the one before.
  const baseMs = Date.now() - (opts.repeats + 2) * strideMs;
  const target = open(path.join(dir, 'warm.db'));
  try {
    const cost = timed(() => {
      const source = spansOf(buildStream({ ...shape, seed: SEED_PREFILL_SOURCE, startUnixMs: baseMs }));
      prefill(target.store, source, opts.warmSpans, SEED_PREFILL_IDS);
      target.wal.checkpoint();
      return { events: 0, exchanges: 0 };
    });
    onPrefilled({ wallSec: cost.wallSec, cpuSec: cost.cpuSec });
    return measure(opts.repeats, (i) => {
      const stream = buildStream({ ...shape, seed: SEED_WARM_RUN + i + 1, startUnixMs: baseMs + (i + 2) * strideMs });
      return runIntoStore(chunks(stream.bytes, opts.chunkBytes ?? 64 * 1024), target, true);
    });
  } finally {
    target.close();
  }
}

export function runIngest(opts: IngestOptions): IngestResult {
  const stream: SyntheticStream = buildStream({ requests: opts.requests, connections: opts.connections, seed: SEED_MAIN });
  const pieces = chunks(stream.bytes, opts.chunkBytes ?? 64 * 1024);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-bench-ingest-'));
  const stages: StageResult[] = [];
  let events = 0;
  let warmPrefill: IngestResult['warmPrefill'];
  try {
    for (const stage of opts.stages ?? STAGES) {
      const runs =
        stage === 'decode'
          ? measure(opts.repeats, () => runDecode(pieces))
          : stage === 'pipeline'
            ? measure(opts.repeats, () => runPipeline(pieces))
            : stage === 'store-fresh'
              ? freshRuns(pieces, dir, opts.repeats)
              : warmRuns(opts, dir, stream.durationUs, (cost) => (warmPrefill = cost));
      events = runs[0]!.events;
      const last = runs[runs.length - 1]!;
      const isStore = last.spansStored !== undefined;
      // Decoding makes no exchanges; the store stages count what reached SQLite.
      const counted = stage === 'decode' ? stream.expectedExchanges : Math.min(...runs.map((r) => (isStore ? Math.min(r.exchanges, r.spansStored!) : r.exchanges)));
      stages.push({
        stage,
        description: stage === 'store-warm' ? `${DESCRIPTIONS[stage]} (${fmtNum(opts.warmSpans)} before the warm-up run)` : DESCRIPTIONS[stage],
        exchangesPerSec: summarize(runs.map((r) => stream.expectedExchanges / r.wallSec)),
        exchangesPerCpuSec: summarize(runs.map((r) => stream.expectedExchanges / r.cpuSec)),
        eventsPerSec: summarize(runs.map((r) => r.events / r.wallSec)),
        exchangesOut: counted,
        lost: stream.expectedExchanges - counted,
        ...(isStore
          ? {
              spansStored: last.spansStored!,
              storeSpansBefore: summarize(runs.map((r) => r.spansBefore!)),
              checkpointCpuUsPerExchange: summarize(runs.map((r) => (r.checkpointCpuSec! * 1e6) / stream.expectedExchanges)),
              checkpointTimed: stage === 'store-warm',
              walFrames: summarize(runs.map((r) => r.walFrames!)),
            }
          : {}),
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
    warmSpans: opts.warmSpans,
    ...(warmPrefill ? { warmPrefill } : {}),
    stages,
  };
}
