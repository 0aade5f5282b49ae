/**
 * `node --import tsx bench/summary.ts RESULTS_DIR`
 * The issue #8 targets checked against the JSON a bench run left in
 * RESULTS_DIR (ingest.json, query.json, memory.json; overhead is summarised
 * by bench/overhead.ts itself). Missing parts are reported as not measured,
 * never as met.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { IngestResult, StageResult } from './ingest/run-ingest.js';
import { fmtNum, markdownTable } from './lib/stats.js';

interface QueryLatency {
  query: string;
  p50Ms: number;
  p99Ms: number;
}
interface QueryJson {
  results: Array<{ size: number; meta: { spans: number }; latencies: QueryLatency[] }>;
}
interface MemoryJson {
  results: Array<{ connections: number; sides: number; trackedSockets: number; openRssMiB: number; peakRssMiB: number; exchangesPerCpuSec: number; agentCpuSec: number }>;
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: bench/summary.ts RESULTS_DIR');
  process.exit(2);
}
function read<T>(name: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir!, name), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

const rows: string[][] = [];
const verdict = (ok: boolean): string => (ok ? 'met' : '**missed**');

// Older ingest.json files name the new-file stage `store` and have no warm one.
type AnyStage = Omit<StageResult, 'stage'> & { stage: string };
const ingest = read<Omit<IngestResult, 'stages'> & { stages: AnyStage[] }>('ingest.json');
const stageOf = (...names: string[]): AnyStage | undefined => ingest?.stages.find((s) => names.includes(s.stage));
// The target is checked against a store as a running agent has it (hundreds of
// thousands of random-id spans, checkpoint paid); a new file flatters the store.
const warm = stageOf('store-warm');
const fresh = stageOf('store-fresh', 'store');
const pipeline = stageOf('pipeline');
const ingestTarget = '>= 50,000 HTTP exchanges/s per core into SQLite, no loss';
const others = `new store file: ${fmtNum(fresh?.exchangesPerCpuSec.median ?? NaN)}; pipeline without store: ${fmtNum(pipeline?.exchangesPerCpuSec.median ?? NaN)}`;
rows.push(
  warm
    ? [
        ingestTarget,
        `${fmtNum(warm.exchangesPerCpuSec.median)}/CPU-s into a store of ${fmtNum(warm.storeSpansBefore?.min ?? NaN)}-${fmtNum(warm.storeSpansBefore?.max ?? NaN)} random-id spans, WAL checkpoint included, lost ${warm.lost} (${others})`,
        verdict(warm.exchangesPerCpuSec.median >= 50_000 && warm.lost === 0),
      ]
    : [ingestTarget, fresh ? `warm store not measured (${others})` : 'not measured', 'unknown'],
);

const query = read<QueryJson>('query.json');
const largest = query?.results.reduce<QueryJson['results'][number] | undefined>((a, r) => (!a || r.size > a.size ? r : a), undefined);
const at = largest ? `at ${fmtNum(largest.meta.spans)} spans` : '';
const tenM = (largest?.meta.spans ?? 0) >= 10_000_000;
const lat = (prefix: string): QueryLatency | undefined => largest?.latencies.find((l) => l.query.startsWith(prefix));
const byId = lat('trace by id (store)');
const byIdApi = lat('trace by id (API');
rows.push(
  byId
    ? [
        'trace by id p99 < 10 ms at 10M spans',
        `${at}: store p99 ${fmtNum(byId.p99Ms, 2)} ms; API (reconstructed tree) p99 ${fmtNum(byIdApi?.p99Ms ?? NaN, 2)} ms`,
        tenM ? verdict(byId.p99Ms < 10 && (byIdApi?.p99Ms ?? Infinity) < 10) : 'not measured at 10M',
      ]
    : ['trace by id p99 < 10 ms at 10M spans', 'not measured', 'unknown'],
);
const graph = lat('service graph, 1 h (counts');
const graphLatency = lat('service graph, 1 h (+latency');
rows.push(
  graph
    ? [
        'service graph over 1 h < 200 ms at 10M spans',
        `${at}: counts p99 ${fmtNum(graph.p99Ms, 1)} ms; with latency percentiles p99 ${fmtNum(graphLatency?.p99Ms ?? NaN, 1)} ms`,
        tenM ? verdict(graph.p99Ms < 200 && (graphLatency?.p99Ms ?? Infinity) < 200) : 'not measured at 10M',
      ]
    : ['service graph over 1 h < 200 ms at 10M spans', 'not measured', 'unknown'],
);

const memory = read<MemoryJson>('memory.json');
const tenK = memory?.results.filter((r) => r.connections >= 10_000) ?? [];
for (const r of tenK) {
  const shape = r.sides === 2 ? 'both ends on this host' : 'server side only';
  rows.push([
    `agent RSS < 200 MB at 10k connections (${shape})`,
    `${fmtNum(r.openRssMiB)} MiB with ${fmtNum(r.connections)} open (${fmtNum(r.trackedSockets)} sockets tracked), peak ${fmtNum(r.peakRssMiB)} MiB`,
    // MiB -> MB: the target is in MB.
    verdict(r.peakRssMiB * 1.048576 < 200),
  ]);
}
if (tenK.length === 0) rows.push(['agent RSS < 200 MB at 10k connections', memory ? 'largest run below 10k connections' : 'not measured', 'unknown']);

console.log('\nTargets (issue #8), this run');
console.log(markdownTable(['target', 'measured', 'verdict'], rows));
