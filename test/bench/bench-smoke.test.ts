/**
 * CI smoke test of the benchmark: the ingest bench runs end to end in a tiny
 * mode through the real decoder, pipeline and SQLite store, and prints
 * well-formed results. No timing thresholds: speed is the benchmark's job.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { IngestResult } from '../../bench/ingest/run-ingest.js';
import { overheadRows } from '../../bench/overhead/overhead-table.js';
import type { RunRecord } from '../../bench/overhead/run-overhead.js';
import { freePort } from '../integration/helpers.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function runBench(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('node', ['--import', 'tsx', ...args], { cwd: REPO, timeout: 120_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
    );
  });
}

function runTinyIngest(): Promise<string> {
  return runBench(['bench/ingest.ts', '--tiny']);
}

function jsonLine<T>(out: string, tag: string): T {
  const line = out.split('\n').find((l) => l.startsWith(`${tag} `));
  assert.ok(line, `no ${tag} line in:\n${out}`);
  return JSON.parse(line.slice(tag.length + 1)) as T;
}

test('the ingest bench in tiny mode reports non-zero rates for every stage and loses nothing', async () => {
  const out = await runTinyIngest();
  const line = out.split('\n').find((l) => l.startsWith('INGEST_JSON '));
  assert.ok(line, `no INGEST_JSON line in:\n${out}`);
  const result = JSON.parse(line.slice('INGEST_JSON '.length)) as IngestResult & { mode: string };
  assert.equal(result.mode, 'tiny');
  assert.equal(result.expectedExchanges, 2 * result.requests, 'two sides per request');
  assert.ok(result.events > result.requests * 4, 'four data events per request plus connection events');
  assert.deepEqual(
    result.stages.map((s) => s.stage),
    ['decode', 'pipeline', 'store-fresh', 'store-warm'],
  );
  for (const s of result.stages) {
    assert.ok(s.exchangesPerSec.median > 0 && Number.isFinite(s.exchangesPerSec.median), `${s.stage} wall rate`);
    assert.ok(s.exchangesPerCpuSec.median > 0 && Number.isFinite(s.exchangesPerCpuSec.median), `${s.stage} per-core rate`);
    assert.equal(s.lost, 0, `${s.stage} lost exchanges`);
  }
  const fresh = result.stages.find((s) => s.stage === 'store-fresh');
  const warm = result.stages.find((s) => s.stage === 'store-warm');
  assert.ok(fresh && warm);
  assert.equal(fresh.spansStored, result.expectedExchanges, 'every exchange reached SQLite as a span');
  assert.equal(fresh.checkpointTimed, false);
  assert.equal(fresh.storeSpansBefore?.max, 0, 'a new store file per run');
  // Each warm run adds spans of its own (other random ids): nothing replaced, and the store was filled first.
  assert.equal(warm.spansStored, result.expectedExchanges, 'every exchange of a warm run added a span');
  assert.equal(warm.checkpointTimed, true);
  assert.ok(warm.walFrames!.min > 0, 'the timed checkpoint had the run\'s pages to copy');
  assert.ok(result.warmSpans > 0);
  assert.ok(warm.storeSpansBefore!.min >= result.warmSpans, 'the warm store held the prefill before each measured run');
  // The human table is printed too, with both store stages.
  assert.match(out, /\| store-fresh +\|/);
  assert.match(out, /\| store-warm +\|/);
});

test('overhead rows compare medians against the baseline and count both sides of each request', () => {
  const wrk = (rps: number, p99Ms: number) => ({ requests: rps * 10, durationSec: 10, rps, errors: 0, non2xx: 0, p50Ms: 1, p99Ms, meanMs: 1 });
  const records: RunRecord[] = [
    { service: 'node', mode: 'base', round: 0, wrk: wrk(1000, 10), serviceCores: 1 },
    { service: 'node', mode: 'base', round: 1, wrk: wrk(1200, 12), serviceCores: 1 },
    { service: 'node', mode: 'base', round: 2, wrk: wrk(1100, 11), serviceCores: 1 },
    { service: 'node', mode: 'agent', round: 0, wrk: wrk(990, 11), serviceCores: 1, agentCores: 0.2, loaderCores: 0.01, exchanges: 19_800, kernelDrops: 0 },
    { service: 'node', mode: 'otel', round: 0, wrk: wrk(550, 22), serviceCores: 1, otelSpans: 5500, otelSinkCores: 0.05 },
  ];
  const rows = overheadRows(records);
  const agent = rows.find((r) => r.tracer === 'wiretrace agent');
  const otel = rows.find((r) => r.tracer === 'OpenTelemetry SDK');
  assert.ok(agent && otel);
  assert.equal(agent.baseRps, 1100, 'median of the baseline runs');
  assert.equal(agent.throughputCostPct, 10);
  assert.equal(agent.p99CostPct, 0);
  assert.equal(agent.capturedPct, 100, '19,800 exchanges = both sides of 9,900 requests');
  assert.equal(otel.throughputCostPct, 50);
  assert.equal(otel.capturedPct, 100);
});

test('the query bench in tiny mode builds a store through the ingest path, caches it, and times every query', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'wt-bench-query-'));
  try {
    interface QueryJson {
      results: Array<{ built: boolean; meta: { spans: number }; latencies: Array<{ query: string; n: number; p50Ms: number; p99Ms: number; resultSize: number }> }>;
    }
    const first = jsonLine<QueryJson>(await runBench(['bench/query.ts', '--tiny', '--dir', dir]), 'QUERY_JSON');
    const [r] = first.results;
    assert.ok(r?.built, 'built on first use');
    assert.equal(r.meta.spans, 10_000, 'every exchange of the fixture stream was stored');
    assert.equal(r.latencies.length, 7);
    for (const l of r.latencies) {
      assert.ok(l.p50Ms > 0 && l.p99Ms >= l.p50Ms, `${l.query}: ${l.p50Ms} / ${l.p99Ms}`);
      assert.ok(l.resultSize > 0, `${l.query} returned something`);
    }
    const again = jsonLine<QueryJson>(await runBench(['bench/query.ts', '--tiny', '--dir', dir]), 'QUERY_JSON');
    assert.equal(again.results[0]?.built, false, 'the second run reuses the cached store');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the memory bench in tiny mode drives the real agent through a capture pipe and reports RSS and CPU', { skip: fs.existsSync(path.join(REPO, 'backend-agent', 'dist', 'cli.js')) ? undefined : 'agent not built (npm run build)' }, async () => {
  const port = await freePort();
  interface MemoryJson {
    results: Array<{ connections: number; trackedSockets: number; exchanges: number; openRssMiB: number; peakRssMiB: number; agentCpuSec: number }>;
  }
  const out = jsonLine<MemoryJson>(await runBench(['bench/memory.ts', '--tiny', '--port', String(port)]), 'MEMORY_JSON');
  const [r] = out.results;
  assert.equal(r?.connections, 100);
  assert.equal(r.trackedSockets, 200, 'both sides of every connection are tracked and still open');
  assert.equal(r.exchanges, 2 * 100 * 2, 'two requests per connection, two sides each');
  assert.ok(r.openRssMiB > 0 && r.peakRssMiB >= r.openRssMiB && r.agentCpuSec > 0);
});
